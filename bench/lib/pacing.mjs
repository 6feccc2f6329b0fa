// bench/pacing: what PACING does for a viewer behind a slow link with a
// shallow queue, and what it costs one on a fast link. Run by bench/pacing
// (inside a loopback-only network namespace); prints a Markdown section and
// writes the raw figures as JSON beside it.
//
// Each run: a fresh server (PACING=false or true), one lss-load publisher
// (its looped VP8 clip padded to BITRATE kbit/s: a keyframe every 1.5 s of
// some 60 packets), and one headless Chromium viewer whose media goes
// through the impairment relay (tests/e2e/lib/impair.mjs): on the way down
// a bottleneck of RATE kbit/s with a drop-tail queue of QUEUE bytes, as a
// home router or a mobile link's shallow buffer. After a warm-up (the
// server's estimate for the viewer settles), the relay taps every packet of
// the hold:
//   - frame completion, per video frame: from its first packet reaching the
//     relay (leaving the server) to the viewer having all of them, repairs
//     (RTX, same RTP timestamp) included; frames of 20 packets or more are
//     the keyframes (the payload is encrypted, the size tells them apart);
//   - packets the bottleneck's queue dropped;
// and Chromium's own inbound-rtp says what a person sees: freezes, frames
// decoded, NACKs sent, packets lost.
import fs from 'node:fs';
import path from 'node:path';

import { launchBrowser, sleep, waitFor } from '../../tests/e2e/lib/browser.mjs';
import { startImpairedRelay } from '../../tests/e2e/lib/impair.mjs';
import { startLoad } from '../../tests/e2e/lib/load.mjs';
import { startImpairedViewer } from '../../tests/e2e/lib/media.mjs';
import { viewerSample } from '../../tests/e2e/lib/adapt.mjs';
import { startServer } from '../../tests/e2e/lib/server.mjs';

const WARMUP_S = Number(process.env.WARMUP || 10);
const HOLD_S = Number(process.env.DURATION || 30);
const BITRATE = Number(process.env.BITRATE || 2500);
const OUT = process.env.PACING_WORK || fs.mkdtempSync('/tmp/lss-pacing-');
// name, down-link impairment
const SCENARIOS = [
  { name: '4 Mbit/s link, 30 KB queue', down: { rateKbps: 4000, queueBytes: 30000, queueMs: 2000 } },
  { name: '8 Mbit/s link, 15 KB queue', down: { rateKbps: 8000, queueBytes: 15000, queueMs: 2000 } },
  { name: 'no bottleneck (loopback)', down: {} },
].filter((s, i) => !process.env.SCENARIOS || process.env.SCENARIOS.split(',').includes(String(i)));

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// Frames from the relay's tap: video media packets by RTP timestamp, with
// when the first one came in and when the last one needed went out.
class FrameTap {
  constructor() {
    this.recording = false;
    this.events = [];  // [what, t, pt, ssrc, seq, ts, size]
  }
  tap(what, dir, buf, now) {
    if (!this.recording || dir !== 'down' || buf.length < 12) return;
    const b0 = buf[0];
    if (b0 < 128 || b0 > 191) return;
    const pt = buf[1] & 0x7f;
    if (pt >= 64 && pt <= 95) return;  // RTCP
    this.events.push([what, now, pt, buf.readUInt32BE(8), buf.readUInt16BE(2), buf.readUInt32BE(4), buf.length]);
  }
  // {frames, keyframes} completion in ms (sorted), and counts.
  analyse(videoPt, rtxPts) {
    // Two passes: every packet of a frame reaches the relay before the hold
    // ends (bar the last frames, left out below), so the first pass knows
    // each frame's packets; the second finds when the last one needed left.
    const frames = new Map();  // ts -> {first, need:Set, got:Set, repairs, done}
    for (const [what, t, pt, , seq, ts] of this.events) {
      if (what !== 'in' || pt !== videoPt) continue;
      let f = frames.get(ts);
      if (!f) {
        f = { first: t, need: new Set(), got: new Set(), repairs: 0, done: null };
        frames.set(ts, f);
      }
      f.need.add(seq);
    }
    for (const [what, t, pt, , seq, ts] of this.events) {
      const media = pt === videoPt;
      if (what !== 'out' || (!media && !rtxPts.includes(pt))) continue;
      const f = frames.get(ts);
      if (!f || f.done !== null) continue;  // a repair of a frame from before the hold
      if (media) {
        if (f.need.has(seq)) f.got.add(seq);
      } else {
        f.repairs += 1;
      }
      if (f.got.size + f.repairs >= f.need.size) f.done = t - f.first;
    }
    // The first frames may have begun before the hold, the last ones may
    // still be on their way when it ends.
    const list = [...frames.values()].slice(5, -5);
    const done = list.filter((f) => f.done !== null);
    const big = list.filter((f) => f.need.size >= 20);
    return {
      frames: list.length,
      complete: done.length,
      completion: done.map((f) => f.done).sort((a, b) => a - b),
      keyframes: big.length,
      keyframesComplete: big.filter((f) => f.done !== null).length,
      keyCompletion: big.filter((f) => f.done !== null).map((f) => f.done).sort((a, b) => a - b),
      firstTry: list.filter((f) => f.got.size >= f.need.size).length,
      keyFirstTry: big.filter((f) => f.got.size >= f.need.size).length,
    };
  }
}

async function run(browser, scenario, pacing) {
  const server = await startServer({ PACING: String(pacing), LOG_LEVEL: 'info', MEDIA_WORKERS: '1' });
  const stream = 'pace';
  const hold = WARMUP_S + HOLD_S + 15;
  const load = startLoad(['--url', server.url, '--stream', stream, '--publish', '--viewers', '0',
    '--duration', String(hold), '--bitrate', String(BITRATE), '--json'], { timeout: (hold + 30) * 1000 });
  const frameTap = new FrameTap();
  const relay = await startImpairedRelay({ down: scenario.down, seed: 11, tap: (...a) => frameTap.tap(...a) });
  let page;
  try {
    await waitFor(() => server.log().includes(`stream '${stream}': publisher connected`),
      { timeout: 15000, what: 'the publisher' });
    await sleep(500);
    page = await startImpairedViewer(browser, server, stream, relay);
    await waitFor(async () => (await viewerSample(page)).framesDecoded > 0, { timeout: 20000, what: 'first frame' });
    await sleep(WARMUP_S * 1000);
    const answer = await page.evaluate(() => window.viewAnswer);
    const vp8 = /^a=rtpmap:(\d+) VP8\/90000/im.exec(answer);
    const videoPt = vp8 ? Number(vp8[1]) : -1;
    const rtxPts = [...answer.matchAll(/^a=fmtp:(\d+) apt=(\d+)/gim)]
      .filter((m) => Number(m[2]) === videoPt).map((m) => Number(m[1]));
    const s0 = await viewerSample(page);
    const r0 = relay.stats();
    frameTap.recording = true;
    await sleep(HOLD_S * 1000);
    frameTap.recording = false;
    const s1 = await viewerSample(page);
    const r1 = relay.stats();
    const stats = await (await fetch(`${server.url}/api/stats`)).json();
    const viewer = JSON.stringify(stats);
    const est = /"estimate_bps":(\d+)/.exec(viewer);
    const paced = (stats.media_workers || []).reduce((a, w) => a + (w.paced_datagrams || 0), 0);
    const f = frameTap.analyse(videoPt, rtxPts);
    return {
      scenario: scenario.name, pacing,
      ...f,
      queueDrops: r1.down.droppedQueue - r0.down.droppedQueue,
      rtpIn: r1.down.rtp.packets - r0.down.rtp.packets,
      maxQueueMs: r1.down.maxQueueDelayMs,
      freezes: s1.freezeCount - s0.freezeCount,
      freezeS: s1.totalFreezesDuration - s0.totalFreezesDuration,
      fps: (s1.framesDecoded - s0.framesDecoded) / HOLD_S,
      nacks: s1.nackCount - s0.nackCount,
      lost: s1.packetsLost - s0.packetsLost,
      plis: s1.pliCount - s0.pliCount,
      keyframesDecoded: s1.keyFramesDecoded - s0.keyFramesDecoded,
      estimateKbps: est ? Number(est[1]) / 1000 : null,
      paced,
    };
  } finally {
    if (page) await page.close().catch(() => {});
    load.stop();
    await load.done;
    await relay.close();
    await server.stop();
  }
}

function ms(v) { return v === null || v === undefined ? '-' : v.toFixed(0); }

function table(results, machine) {
  const lines = [];
  lines.push('## Pacing: one viewer behind a slow link with a shallow queue (`bench/pacing`)', '');
  lines.push(machine, '');
  lines.push(`Each run: a fresh server (one media worker) with PACING off or on, one lss-load publisher (looped VP8 clip padded to ${BITRATE} kbit/s, a keyframe every 1.5 s), one headless Chromium viewer whose media goes through the impairment relay (tests/e2e/lib/impair.mjs): on the way down a bottleneck at the link's rate with a drop-tail queue of that many bytes. ${WARMUP_S} s warm-up (the server's estimate for the viewer settles), then ${HOLD_S} s measured. Frame completion is measured at the relay: for each video frame, from its first packet leaving the server (reaching the relay) to the viewer having all of its packets, repairs (RTX, matched by RTP timestamp) included; keyframes are the frames of 20 packets or more (the payload is encrypted; the size tells). "Whole first time" counts frames none of whose packets the queue dropped. Freezes, frames per second, NACKs and losses are Chromium's inbound-rtp over the hold.`, '');
  lines.push('| link | PACING | frames whole first time | frame completion p50 / p95 / p99 (ms) | keyframes whole first time | keyframe completion p50 / p95 / max (ms) | queue drops (of RTP packets) | max queue (ms) | freezes (s) | fps decoded | NACKs sent | estimate at the end (kbit/s) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const c = r.completion, k = r.keyCompletion;
    lines.push(`| ${r.scenario} | ${r.pacing ? 'on' : 'off'} | ${r.firstTry}/${r.frames} | ${ms(quantile(c, 0.5))} / ${ms(quantile(c, 0.95))} / ${ms(quantile(c, 0.99))} | ${r.keyFirstTry}/${r.keyframes} | ${ms(quantile(k, 0.5))} / ${ms(quantile(k, 0.95))} / ${ms(k.length ? k[k.length - 1] : null)} | ${r.queueDrops} (${r.rtpIn}) | ${ms(r.maxQueueMs)} | ${r.freezes} (${r.freezeS.toFixed(1)}) | ${r.fps.toFixed(1)} | ${r.nacks} | ${r.estimateKbps === null ? '-' : r.estimateKbps.toFixed(0)} |`);
  }
  return lines.join('\n');
}

const browser = await launchBrowser();
const results = [];
try {
  for (const scenario of SCENARIOS) {
    for (const pacing of [false, true]) {
      console.error(`== ${scenario.name}, PACING=${pacing}`);
      const r = await run(browser, scenario, pacing);
      console.error(JSON.stringify({ ...r, completion: undefined, keyCompletion: undefined }));
      results.push(r);
    }
  }
} finally {
  await browser.close();
}
fs.writeFileSync(path.join(OUT, 'pacing.json'), JSON.stringify(results, null, 1));
const section = table(results, process.env.MACHINE_LINE || '');
fs.writeFileSync(path.join(OUT, 'section.md'), section + '\n');
console.log(section);
console.error(`raw figures in ${OUT}/pacing.json`);
