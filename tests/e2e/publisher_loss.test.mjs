// Loss on the publisher's side: between a Chromium publisher and the server,
// 5 % random loss on the way up and 40 ms of delay each way (the user-space
// relay of lib/impair.mjs; this kernel has no netem). The server's NACKs and
// the publisher's retransmissions must repair it: the recording holds at
// least 99 % of the frames the publisher sent, every clip decodes without an
// error, and a viewer on a clean path sees at most a short freeze.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { viewerDelta, viewerSample } from './lib/adapt.mjs';
import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startImpairedRelay } from './lib/impair.mjs';
import { startImpairedPublisher, startViewer } from './lib/media.mjs';
import { decodeErrors, probe } from './lib/probe.mjs';
import { startServer } from './lib/server.mjs';

const haveFfmpeg = fs.existsSync('/usr/bin/ffmpeg');

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function publisherSample(page) {
  return page.evaluate(async () => {
    const out = {};
    (await window.pub.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        Object.assign(out, { framesSent: s.framesSent || 0, nacks: s.nackCount || 0, resent: s.retransmittedPacketsSent || 0, plis: s.pliCount || 0 });
      }
    });
    return out;
  });
}

test('5 % loss and 40 ms delay on the publisher\'s path: the recording keeps 99 % of the frames and decodes cleanly; a viewer barely freezes',
  { skip: !haveFfmpeg && 'no ffmpeg', timeout: 150000 }, async () => {
    const server = await startServer({ CLIP_LENGTH: '60' });
    const relay = await startImpairedRelay({ up: { lossPct: 5, delayMs: 40 }, down: { delayMs: 40 }, seed: 7 });
    const pages = [];
    try {
      const name = 'lossyup';
      const pub = await startImpairedPublisher(browser, server, name, relay, { codec: 'VP8' });
      pages.push(pub);
      const viewer = await startViewer(browser, server, name);
      pages.push(viewer);
      await waitFor(async () => (await viewerSample(viewer)).framesDecoded > 0, { timeout: 20000, what: 'a first frame at the viewer' });
      const v0 = await viewerSample(viewer);
      const p0 = await publisherSample(pub);
      const r0 = relay.stats().up;
      await sleep(20000);
      const v1 = await viewerSample(viewer);
      const r1 = relay.stats().up;
      // The server measured the publisher's round trip (80 ms through the
      // relay) with RTCP XR: its RRTRs answered by Chromium's DLRRs.
      const sessions = (await (await fetch(`${server.url}/api/admin/sessions?role=publisher`)).json()).sessions;
      const pubRtt = sessions[0]?.rtt_ms;
      // Stop sending video, let what is in flight (and its repairs) land,
      // then count: every frame sent had its chance to reach the recording.
      await pub.evaluate(() => window.pub.pc.getSenders().find((s) => s.track?.kind === 'video').replaceTrack(null));
      await sleep(1500);
      const p1 = await publisherSample(pub);
      await pub.evaluate(() => window.pub.stop());
      const v = viewerDelta(v0, v1);
      const pubFps = (p1.framesSent - p0.framesSent) / v.seconds;  // the last 1.5 s sent nothing
      const rtpIn = r1.kinds.rtp - r0.kinds.rtp;
      const lostPct = (100 * (r1.droppedLoss - r0.droppedLoss)) / Math.max(1, rtpIn + r1.kinds.rtcp - r0.kinds.rtcp);

      let clips = [];
      await waitFor(async () => {
        clips = (await (await fetch(`${server.url}/api/clips?stream=${name}`)).json()).clips;
        const streams = (await (await fetch(`${server.url}/api/streams?status=ended`)).json()).streams;
        return streams.length === 1 && clips.length === streams[0].clip_count && clips.length >= 1;
      }, { timeout: 20000, what: 'the clip in the catalog' });
      let frames = 0;
      const errors = [];
      for (const c of clips) {
        const file = path.join(server.dataDir, `clip-${c.index}.webm`);
        fs.writeFileSync(file, Buffer.from(await (await fetch(`${server.url}${c.url}`)).arrayBuffer()));
        frames += probe(file).videoFrames;
        const e = decodeErrors(file);
        if (e) errors.push(`clip ${c.index}: ${e.split('\n').slice(0, 5).join(' | ')}`);
      }
      console.log(`publisher path: ${lostPct.toFixed(1)} % of RTP/RTCP lost on the way up, ` +
        `${r1.rtp.resends - r0.rtp.resends} retransmissions reached the relay; publisher: ${p1.framesSent} frames sent, ` +
        `${p1.nacks} NACKs from the server, ${p1.resent} packets resent, ${p1.plis} PLIs, round trip ${pubRtt?.toFixed(0)} ms by RTCP XR; ` +
        `recording: ${frames} frames in ${clips.length} clip(s) (${((100 * frames) / Math.max(1, p1.framesSent)).toFixed(1)} %); ` +
        `viewer: ${v.fps.toFixed(1)} fps of the ${pubFps.toFixed(1)} sent, ${v.freezes} freezes (${v.freezeSec.toFixed(2)} s), ${v.lost} lost, ${v.nacks} NACKs`);

      assert.ok(lostPct > 3 && lostPct < 7, `the relay lost ~5 %: ${lostPct.toFixed(1)} %`);
      assert.ok(p1.nacks > 0 && p1.resent > 0, 'the server asked for the lost packets and got them again');
      assert.ok(pubRtt >= 75 && pubRtt < 200, `the publisher's round trip by RTCP XR: ${pubRtt} ms`);
      assert.ok(frames >= 0.99 * p1.framesSent, `the recording holds ${frames} of the ${p1.framesSent} frames sent`);
      assert.deepEqual(errors, [], 'every clip decodes without an error');
      assert.ok(v.fps > 0.9 * pubFps, `the viewer plays: ${v.fps.toFixed(1)} of ${pubFps.toFixed(1)} fps`);
      // Each frame that waits for a retransmission (one round trip, ~100 ms
      // here) may count as a short freeze in Chromium (over 3 frame times).
      assert.ok(v.freezeSec <= 2, `the viewer froze for ${v.freezeSec.toFixed(2)} s in 20 s`);
    } finally {
      for (const p of pages) await p.close().catch(() => {});
      await relay.close();
      await server.stop();
    }
  });
