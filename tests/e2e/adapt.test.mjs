// Viewers on slow or lossy networks, measured as a person would notice:
// the viewer's own inbound-rtp (decoded frames per second, freezes, frame
// width, concealed audio), what the server sends it (the bytes the relay of
// lib/impair.mjs receives from the server, before any impairment), and the
// server's own view of it (GET /api/stats, and its 'video layer a -> b' log
// lines at LOG_LEVEL=debug).
//
// Publishers are Chromium with a noisy 1280x720 30 fps Y4M as camera
// (lib/y4m.mjs), so they send what their encodings allow: three simulcast
// layers of ~150 kbit/s, ~500 kbit/s and ~2 Mbit/s (a), or one 2.5 Mbit/s
// layer (b; the lossy cases are in adapt_lossy.test.mjs; Chromium's quality
// scaler may send that one at 960x540).
// Viewers are a second Chromium. Time without new frames counts Chromium's
// freezes, its pauses (gaps over 5 s) and a gap still open at the end.
//
// Each test prints what it measured; a failure message carries the same
// table, the viewer's /api/stats entry and its layer switches from the log.
// The machine's load shows in the CPU line and in the direct viewer, which
// watches the same stream without impairment. A case that fails while the
// relay (this process) stalled for 100 ms or more is measured once more
// (lib/adapt.mjs measureAgainIfStalled): the network it ran on was not the
// one simulated.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';

import {
  cpuLine, cpuMeter, encodingRates, encodingsLine, fmt, formatTable, layerLog, measureAgainIfStalled, publisherEncodings, publisherReady, relayDownKbps, sampler, serverLine, serverViewers, startAdaptRig, startPublisherWith, stopAdaptRig, timeline, viewerDelta, viewerLine, viewerSample, viewerSession,
} from './lib/adapt.mjs';
import { sleep, waitFor } from './lib/browser.mjs';
import { startImpairedRelay } from './lib/impair.mjs';
import { startImpairedViewer, startViewer } from './lib/media.mjs';
import { haveFfmpeg } from './lib/y4m.mjs';

const CAP = { rateKbps: 1000, queueMs: 200 };

describe('viewers on slow or lossy networks', { skip: !haveFfmpeg() && 'no ffmpeg (Debian ffmpeg) for the Y4M camera' }, () => {
  let server, pubBrowser, viewBrowser, pids, loop;
  before(async () => {
    ({ server, pubBrowser, viewBrowser, pids, loop } = await startAdaptRig());
  });
  after(() => stopAdaptRig({ server, pubBrowser, viewBrowser, loop }));

  test('a. simulcast: a 1000 kbit/s viewer settles on a lower layer and plays; uncapped it returns to the top; a direct viewer stays on the top', { timeout: 300000 }, () => measureAgainIfStalled(loop, async (attempt) => {
    const name = `adapt-simulcast-${attempt}`;
    const pages = [];
    let relay;
    let samp;
    try {
      const pub = await startPublisherWith(pubBrowser, server, name, { codec: 'VP8', simulcast: true });
      pages.push(pub);
      const ready = await publisherReady(pub, { encodings: 3, minTopKbps: 1000 });
      const direct = await startViewer(viewBrowser, server, name);
      pages.push(direct);
      const dirSession = await viewerSession(direct);
      const topWidth = ready.at(-1).width;
      let top = 2;
      await waitFor(async () => {
        const v = (await serverViewers(server, name)).get(dirSession);
        if (v) top = v.layers - 1;
        return v && v.layer === top && (await viewerSample(direct)).width === (await publisherEncodings(pub)).at(-1).width;
      }, { timeout: 15000, what: `the direct viewer on the top layer (${topWidth} wide)` });

      relay = await startImpairedRelay({ down: { ...CAP }, seed: 7 });
      const T0 = performance.now();
      const at = (s) => sleep(Math.max(0, T0 + s * 1000 - performance.now()));
      const impaired = await startImpairedViewer(viewBrowser, server, name, relay);
      pages.push(impaired);
      const impSession = await viewerSession(impaired);
      samp = sampler(async () => {
        const [sv, iv, dv, pe] = await Promise.all([serverViewers(server, name), viewerSample(impaired), viewerSample(direct), publisherEncodings(pub)]);
        return { t: performance.now() - T0, imp: sv.get(impSession), dir: sv.get(dirSession), impW: iv.width, dirW: dv.width, topW: pe.at(-1)?.width || 0,
          impFrames: iv.framesDecoded };
      });

      // 1. Capped from the start: a lower layer within 10 s.
      await at(10);
      const cpu = cpuMeter(pids);
      cpu.start();
      const loopFrom = performance.now();
      const i10 = await viewerSample(impaired);
      const d10 = await viewerSample(direct);
      const r10 = relay.stats();
      const s10 = (await serverViewers(server, name)).get(impSession);
      const e10 = await publisherEncodings(pub);
      const sinceMs = relay.elapsedMs();
      // 2. The next 20 s on it.
      await at(30);
      const i30 = await viewerSample(impaired);
      const d30 = await viewerSample(direct);
      const r30 = relay.stats();
      const s30 = (await serverViewers(server, name)).get(impSession);
      const e30 = await publisherEncodings(pub);
      const cpuUse = cpu.stop();
      const maxKbps1s = relay.maxRateBps('down', 1, 'in', sinceMs) / 1000;
      // 3. The cap lifted: back to the top within 15 s.
      relay.set('down', { rateKbps: 0 });
      const tLift = performance.now() - T0;
      let recoveredAt = null;
      const r40 = relay.stats();
      await waitFor(async () => {
        const s = samp.samples.at(-1);
        if (s && !s.error && s.t > tLift && s.imp && s.imp.layer === top && s.impW > 0 && s.impW === s.topW) recoveredAt = s.t;
        return recoveredAt !== null || performance.now() - T0 > tLift + 15000;
      }, { timeout: 20000, interval: 200 });
      const iEnd = await viewerSample(impaired);
      const rEnd = relay.stats();
      await samp.stop();
      const sEnd = (await serverViewers(server, name)).get(impSession);
      const dEnd = (await serverViewers(server, name)).get(dirSession);

      const win = viewerDelta(i10, i30);
      const dwin = viewerDelta(d10, d30);
      const lifted = viewerDelta(i30, iEnd);
      const sentKbps = relayDownKbps(r10, r30);
      const samples = samp.samples.filter((s) => !s.error && s.imp && s.dir);
      // When it got onto the layer it had at 10 s (and kept until then).
      const before10 = samples.filter((s) => s.t <= 10000);
      let settledAt = null;
      for (const s of before10) {
        if (s.imp.layer >= 0 && s.imp.layer < top) { if (settledAt === null) settledAt = s.t; } else settledAt = null;
      }
      const inWindow = samples.filter((s) => s.t > 10000 && s.t <= 30000);
      // Freezes as Chromium counts them (a gap over ~3 frame intervals; over
      // 5 s a pause), once the next frame comes; a gap still open at 30 s counts too.
      let lastProgress = 10000;
      inWindow.forEach((s, i) => { if (i > 0 && s.impFrames > inWindow[i - 1].impFrames) lastProgress = s.t; });
      const openGap = Math.max(0, (30000 - lastProgress) / 1000 - 0.5);
      const stalled = win.freezeSec + win.pauseSec + openGap;
      const topInWindow = inWindow.filter((s) => s.imp.layer === top).length;
      // The direct viewer: on the top layer, at the publisher's top width, in
      // every sample (a sample right after the publisher changed its top
      // width is not held against it).
      const offTop = samples.filter((s, i) => {
        const pubChanged = i > 0 && samples[i - 1].topW !== s.topW;
        return s.dir.layer !== top || (!pubChanged && s.dirW !== s.topW);
      });

      const problems = [];
      if (!(s10 && s10.layer >= 0 && s10.layer < top)) problems.push(`not on a lower layer 10 s after joining (layer ${s10?.layer}, top ${top})`);
      if (!(win.fps >= 20)) problems.push(`${fmt(win.fps)} fps over the 20 s on the lower layer (want >= 20)`);
      if (!(stalled <= 2)) {
        problems.push(`${fmt(stalled, 2)} s without new frames over those 20 s (want <= 2): ${win.freezes} freezes ${fmt(win.freezeSec, 2)} s, ` +
          `${win.pauses} pauses ${fmt(win.pauseSec, 2)} s, still waiting at 30 s ${fmt(openGap, 2)} s`);
      }
      if (!(sentKbps <= 1200)) problems.push(`the server sent it ${fmt(sentKbps, 0)} kbit/s over those 20 s (want <= 1200)`);
      if (recoveredAt === null) problems.push(`not back on the top layer within 15 s of lifting the cap (layer ${sEnd?.layer}, width ${iEnd.width} of ${topWidth})`);
      if (offTop.length) {
        problems.push(`the direct viewer left the top layer or width in ${offTop.length} of ${samples.length} samples (first at ${fmt(offTop[0].t / 1000)} s: ` +
          `layer ${offTop[0].dir.layer}, width ${offTop[0].dirW}, publisher's top ${offTop[0].topW})`);
      }

      const rows = [
        ['', 'seconds', 'fps', 'freezes', 'freeze s', 'pause s', 'width', 'lost', 'NACKs', 'PLIs', 'recv kbit/s', 'server sent kbit/s', 'max 1 s'],
        ['capped viewer, 10-30 s', fmt(win.seconds), fmt(win.fps), win.freezes, fmt(win.freezeSec, 2), fmt(win.pauseSec, 2), win.width, win.lost, win.nacks,
          win.plis, fmt(win.kbps, 0), fmt(sentKbps, 0), fmt(maxKbps1s, 0)],
        ['capped viewer, cap lifted', fmt(lifted.seconds), fmt(lifted.fps), lifted.freezes, fmt(lifted.freezeSec, 2), fmt(lifted.pauseSec, 2), lifted.width,
          lifted.lost, lifted.nacks, lifted.plis, fmt(lifted.kbps, 0), fmt(relayDownKbps(r40, rEnd), 0), '-'],
        ['direct viewer, 10-30 s', fmt(dwin.seconds), fmt(dwin.fps), dwin.freezes, fmt(dwin.freezeSec, 2), fmt(dwin.pauseSec, 2), dwin.width, dwin.lost,
          dwin.nacks, dwin.plis, fmt(dwin.kbps, 0), '-', '-'],
      ];
      const report = [
        `a. simulcast, viewer capped at ${CAP.rateKbps} kbit/s (queue ${CAP.queueMs} ms) from its start, lifted at ${fmt(tLift / 1000)} s`,
        formatTable(rows),
        `capped viewer: layer at 10 s ${s10?.layer} (on it since ${settledAt === null ? '-' : `${fmt(settledAt / 1000)} s`}), ` +
          `samples on the top layer during 10-30 s: ${topInWindow} of ${inWindow.length}, layer switches 10-30 s: ${(s30?.layer_switches ?? 0) - (s10?.layer_switches ?? 0)}, ` +
          `back on the top layer: ${recoveredAt === null ? 'no' : `${fmt((recoveredAt - tLift) / 1000)} s after the lift`}`,
        `capped viewer layer (t:layer): ${timeline(samples, (s) => s.imp.layer)}`,
        `capped viewer estimate kbit/s: ${timeline(samples, (s) => Math.round(s.imp.estimate_bps / 1000))}`,
        `direct viewer layer: ${timeline(samples, (s) => s.dir.layer)}; width: ${timeline(samples, (s) => s.dirW)}; publisher top width: ${timeline(samples, (s) => s.topW)}`,
        `relay down: ${r30.down.droppedQueue - r10.down.droppedQueue} queue drops in 10-30 s, max queue delay ${fmt(r30.down.maxQueueDelayMs, 0)} ms`,
        `publisher at start: ${encodingsLine(ready)}`,
        `publisher 10-30 s: ${encodingsLine(encodingRates(e10, e30))}`,
        cpuLine(cpuUse, loop.summary(loopFrom, loopFrom + 30000)),
        serverLine(s30),
        `/api/stats capped viewer at 10 s: ${viewerLine(s10)}`,
        `/api/stats capped viewer at 30 s: ${viewerLine(s30)}`,
        `/api/stats capped viewer at the end: ${viewerLine(sEnd)}`,
        `/api/stats direct viewer at the end: ${viewerLine(dEnd)}`,
        'server log, capped viewer:', ...layerLog(server, impSession).map((l) => `  ${l}`),
        'server log, direct viewer:', ...layerLog(server, dirSession).map((l) => `  ${l}`),
      ].join('\n');
      console.log(`\n${report}\n`);
      assert.ok(problems.length === 0, `${problems.join('; ')}\n\n${report}`);
    } finally {
      await samp?.stop();
      await pages[0]?.evaluate(() => window.pub.stop()).catch(() => {});
      for (const p of pages) await p.close().catch(() => {});
      await relay?.close();
    }
  }));

  test('b. one 2.5 Mbit/s layer: the server sends a 1000 kbit/s viewer at most 1.5 Mbit/s and its audio stays clean', { timeout: 240000 }, () => measureAgainIfStalled(loop, async (attempt) => {
    const name = `adapt-single-${attempt}`;
    const pages = [];
    let relay;
    let samp;
    try {
      const pub = await startPublisherWith(pubBrowser, server, name, { codec: 'VP8', maxBitrate: 2_500_000 });
      pages.push(pub);
      const ready = await publisherReady(pub, { encodings: 1, minTopKbps: 2000 });
      relay = await startImpairedRelay({ down: { ...CAP }, seed: 8 });
      const T0 = performance.now();
      const at = (s) => sleep(Math.max(0, T0 + s * 1000 - performance.now()));
      const viewer = await startImpairedViewer(viewBrowser, server, name, relay);
      pages.push(viewer);
      const session = await viewerSession(viewer);
      samp = sampler(async () => {
        const sv = await serverViewers(server, name);
        return { t: performance.now() - T0, v: sv.get(session), kbps1s: relay.rateBps('down', 1, 'in') / 1000 };
      });
      await at(10);
      const cpu = cpuMeter(pids);
      cpu.start();
      const loopFrom = performance.now();
      const v10 = await viewerSample(viewer);
      const r10 = relay.stats();
      const s10 = (await serverViewers(server, name)).get(session);
      const e10 = await publisherEncodings(pub);
      const sinceMs = relay.elapsedMs();
      await at(30);
      const v30 = await viewerSample(viewer);
      const r30 = relay.stats();
      const s30 = (await serverViewers(server, name)).get(session);
      const e30 = await publisherEncodings(pub);
      const cpuUse = cpu.stop();
      await samp.stop();
      const maxKbps1s = relay.maxRateBps('down', 1, 'in', sinceMs) / 1000;
      const w = viewerDelta(v10, v30);
      const sentKbps = relayDownKbps(r10, r30);
      const samples = samp.samples.filter((s) => !s.error && s.v);

      const problems = [];
      if (!(sentKbps <= 1500)) problems.push(`the server sent it ${fmt(sentKbps, 0)} kbit/s over 10-30 s (want <= 1500)`);
      if (!(w.audioConcealedPct <= 5)) problems.push(`${fmt(w.audioConcealedPct, 2)} % of its audio concealed over 10-30 s (want <= 5)`);
      if (!(w.audioSamples > 0)) problems.push('no audio received');

      const report = [
        `b. single ${fmt(ready[0].kbps, 0)} kbit/s layer (maxBitrate 2.5 Mbit/s), viewer capped at ${CAP.rateKbps} kbit/s (queue ${CAP.queueMs} ms) from its start; window 10-30 s`,
        formatTable([
          ['', 'seconds', 'server sent kbit/s', 'max 1 s', 'recv kbit/s', 'audio concealed %', 'audio samples', 'video frames', 'fps', 'freeze s', 'pauses', 'pause s', 'lost'],
          ['capped viewer', fmt(w.seconds), fmt(sentKbps, 0), fmt(maxKbps1s, 0), fmt(w.kbps, 0), fmt(w.audioConcealedPct, 2), w.audioSamples,
            `${w.frames} (${v30.framesDecoded} in all)`, fmt(w.fps), fmt(w.freezeSec, 2), w.pauses, fmt(w.pauseSec, 1), w.lost],
        ]),
        `layer (t:layer, -1 paused): ${timeline(samples, (s) => s.v.layer)}`,
        `estimate kbit/s: ${timeline(samples, (s) => Math.round(s.v.estimate_bps / 1000))}`,
        `server send rate, last second, kbit/s: ${samples.filter((_, i) => i % 4 === 0).map((s) => `${fmt(s.t / 1000, 0)}s:${fmt(s.kbps1s, 0)}`).join(' ')}`,
        `relay down: ${r30.down.droppedQueue - r10.down.droppedQueue} queue drops in 10-30 s, max queue delay ${fmt(r30.down.maxQueueDelayMs, 0)} ms`,
        `publisher 10-30 s: ${encodingsLine(encodingRates(e10, e30))}`,
        cpuLine(cpuUse, loop.summary(loopFrom, loopFrom + 30000)),
        serverLine(s30),
        `/api/stats at 10 s: ${viewerLine(s10)}`,
        `/api/stats at 30 s: ${viewerLine(s30)}`,
        'server log:', ...layerLog(server, session).map((l) => `  ${l}`),
      ].join('\n');
      console.log(`\n${report}\n`);
      assert.ok(problems.length === 0, `${problems.join('; ')}\n\n${report}`);
    } finally {
      await samp?.stop();
      await pages[0]?.evaluate(() => window.pub.stop()).catch(() => {});
      for (const p of pages) await p.close().catch(() => {});
      await relay?.close();
    }
  }));
});
