// Helpers for the adaptation tests (adapt.test.mjs, adapt_lossy.test.mjs):
// their shared set-up, publishing with the page's options (simulcast,
// maxBitrate), what a viewer sees (inbound-rtp), what the server says of a
// viewer (/api/stats), its layer switches (server log), CPU of the
// processes involved, and a plain-text table.
import fs from 'node:fs';
import path from 'node:path';

import { launchBrowser, openPage, sleep, waitFor } from './browser.mjs';
import { repoRoot, startServer } from './server.mjs';
import { noisyY4m } from './y4m.mjs';

// startPublisher (lib/media.mjs) with every option of lss.publish:
// {codec, key, simulcast, maxBitrate}.
export async function startPublisherWith(browser, server, name, opts = {}) {
  const page = await openPage(browser, server);
  await page.evaluate(async ({ name, opts }) => {
    window.pub = await window.lss.publish(name, opts);
  }, { name, opts });
  return page;
}

// The publisher's video encodings as sent now, smallest first:
// [{rid, width, height, fps, bytesSent, framesEncoded, targetBitrate, limitation, active}].
export async function publisherEncodings(page) {
  return page.evaluate(async () => {
    const out = [];
    (await window.pub.pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      out.push({
        rid: s.rid || '', width: s.frameWidth || 0, height: s.frameHeight || 0, fps: s.framesPerSecond || 0,
        bytesSent: s.bytesSent || 0, framesEncoded: s.framesEncoded || 0, targetBitrate: s.targetBitrate || 0,
        limitation: s.qualityLimitationReason || '', active: s.active !== false, t: performance.now(),
      });
    });
    return out.sort((a, b) => a.width - b.width || a.rid.localeCompare(b.rid));
  });
}

// kbit/s per encoding between two publisherEncodings() snapshots.
export function encodingRates(a, b) {
  return b.map((e) => {
    const p = a.find((x) => x.rid === e.rid);
    const s = p ? (e.t - p.t) / 1000 : 0;
    return { ...e, kbps: s > 0 ? ((e.bytesSent - p.bytesSent) * 8) / s / 1000 : 0 };
  });
}

// What the viewer (window.view of lib/media.mjs) sees now: video and audio
// inbound-rtp, the numbers a person would notice.
export async function viewerSample(page) {
  return page.evaluate(async () => {
    const { video, audio } = await window.lss.inboundStats(window.view.pc);
    const v = video || {};
    const a = audio || {};
    return {
      t: performance.now(),
      framesDecoded: v.framesDecoded || 0,
      framesPerSecond: v.framesPerSecond || 0,
      freezeCount: v.freezeCount || 0,
      totalFreezesDuration: v.totalFreezesDuration || 0,
      pauseCount: v.pauseCount || 0,
      totalPausesDuration: v.totalPausesDuration || 0,
      width: v.frameWidth || 0,
      height: v.frameHeight || 0,
      bytesReceived: v.bytesReceived || 0,
      packetsReceived: v.packetsReceived || 0,
      packetsLost: v.packetsLost || 0,
      nackCount: v.nackCount || 0,
      pliCount: v.pliCount || 0,
      retransmittedPacketsReceived: v.retransmittedPacketsReceived || 0,
      keyFramesDecoded: v.keyFramesDecoded || 0,
      audioSamples: a.totalSamplesReceived || 0,
      audioConcealed: a.concealedSamples || 0,
      audioSilentConcealed: a.silentConcealedSamples || 0,
      audioPacketsLost: a.packetsLost || 0,
      audioPackets: a.packetsReceived || 0,
      connection: window.view.pc.connectionState,
    };
  });
}

// The change between two viewerSample()s.
export function viewerDelta(a, b) {
  const s = (b.t - a.t) / 1000;
  const samples = b.audioSamples - a.audioSamples;
  return {
    seconds: s,
    fps: (b.framesDecoded - a.framesDecoded) / s,
    frames: b.framesDecoded - a.framesDecoded,
    freezes: b.freezeCount - a.freezeCount,
    freezeSec: b.totalFreezesDuration - a.totalFreezesDuration,
    pauses: b.pauseCount - a.pauseCount,
    pauseSec: b.totalPausesDuration - a.totalPausesDuration,
    kbps: ((b.bytesReceived - a.bytesReceived) * 8) / s / 1000,
    lost: b.packetsLost - a.packetsLost,
    nacks: b.nackCount - a.nackCount,
    plis: b.pliCount - a.pliCount,
    rtx: b.retransmittedPacketsReceived - a.retransmittedPacketsReceived,
    keyframes: b.keyFramesDecoded - a.keyFramesDecoded,
    audioSamples: samples,
    audioConcealed: b.audioConcealed - a.audioConcealed,
    audioConcealedPct: samples > 0 ? (100 * (b.audioConcealed - a.audioConcealed)) / samples : 100,
    width: b.width,
    height: b.height,
  };
}

// The viewer's WHEP session id (the last part of its Location).
export async function viewerSession(page) {
  const loc = await page.evaluate(() => window.view.location);
  return decodeURIComponent(new URL(loc).pathname.split('/').pop());
}

// The stream's viewers in GET /api/stats, by session id.
export async function serverViewers(server, stream) {
  const res = await fetch(`${server.url}/api/stats?stream=${encodeURIComponent(stream)}`);
  if (!res.ok) throw new Error(`/api/stats: ${res.status}`);
  const out = new Map();
  for (const v of (await res.json()).viewers || []) out.set(v.session, v);
  return out;
}

// The server's layer switch lines for one viewer ('video layer a -> b').
export function layerLog(server, session) {
  return server.log().split('\n').filter((l) => l.includes(`viewer ${session} video layer`));
}

// The change in bytes the relay received from the server (what the server
// sent towards the viewer, before the relay's impairments) between two
// relay.stats(), as kbit/s.
export function relayDownKbps(a, b) {
  const s = (b.down.elapsedMs - a.down.elapsedMs) / 1000;
  return s > 0 ? ((b.down.bytesIn - a.down.bytesIn) * 8) / s / 1000 : 0;
}

// ---- CPU --------------------------------------------------------------------

const TICK = 100;  // USER_HZ on Linux

function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');  // from field 3 (state) on
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };  // utime + stime
  } catch (_) {
    return null;
  }
}

// CPU seconds used so far by `pid` and all its descendants (live ones).
export function treeCpuSeconds(pid) {
  const kids = new Map();
  const ticks = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(name);
    if (!st) continue;
    ticks.set(Number(name), st.ticks);
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(Number(name));
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    total += ticks.get(p) || 0;
    for (const k of kids.get(p) || []) stack.push(k);
  }
  return total / TICK;
}

// The main process of a browser launched by this node process whose command
// line contains `marker` (e.g. its --use-file-for-fake-video-capture), or,
// without a marker, the one without any of `exclude`.
export function browserPid({ marker = '', exclude = [] } = {}) {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(name);
    if (!st || st.ppid !== process.pid) continue;
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8'); } catch (_) { continue; }
    if (!/chrom/i.test(cmd)) continue;
    if (marker && !cmd.includes(marker)) continue;
    if (exclude.some((x) => x && cmd.includes(x))) continue;
    return Number(name);
  }
  return null;
}

// Measures the CPU share (% of one core) of named process trees between
// start() and stop(); `self` is this node process alone (the relay runs in it).
export function cpuMeter(pids) {
  let t0 = 0;
  let c0 = {};
  const self = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const read = () => ({
    ...Object.fromEntries(Object.entries(pids).filter(([, p]) => p).map(([k, p]) => [k, treeCpuSeconds(p)])),
    'test process (relay)': self(),
  });
  return {
    start() { t0 = performance.now(); c0 = read(); },
    stop() {
      const s = (performance.now() - t0) / 1000;
      const c1 = read();
      const out = {};
      for (const k of Object.keys(c1)) out[k] = s > 0 ? (100 * (c1[k] - (c0[k] || 0))) / s : 0;
      return out;
    },
  };
}

export function loadAverage() {
  try { return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); } catch (_) { return '?'; }
}

// ---- output -----------------------------------------------------------------

// rows: arrays of cells; the first row is the header. Right-aligned columns.
export function formatTable(rows) {
  const cells = rows.map((r) => r.map((c) => (c == null ? '-' : String(c))));
  const w = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] || '').length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

export const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));

// The /api/stats fields of a viewer worth printing on one line.
export function viewerLine(v) {
  if (!v) return '(not in /api/stats)';
  const keys = ['layer', 'target_layer', 'layers', 'layer_switches', 'estimate_bps', 'delay_based_bps', 'loss_based_bps', 'loss_fraction_twcc', 'delay_state', 'remb_bps', 'retransmit_budget_bps',
    'rtt_ms', 'fraction_lost', 'packets_lost', 'nacks', 'nacked_packets', 'resent', 'resend_holdoff', 'resend_over_budget',
    'resend_not_cached', 'plis', 'plis_forwarded', 'rtp_packets_out', 'bytes_out', 'rtx', 'connected', 'worker'];
  return keys.filter((k) => k in v).map((k) => `${k}=${typeof v[k] === 'number' && !Number.isInteger(v[k]) ? v[k].toFixed(3) : v[k]}`).join(' ');
}

// This process's event loop stalls (the relay forwards from it, so a stall
// holds back the impaired viewer's packets): every gap over `overMs` in a
// 10 ms timer, with when it ended (performance.now()).
export function loopStalls({ overMs = 50 } = {}) {
  const stalls = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last - 10 > overMs) stalls.push({ t: now, ms: now - last - 10 });
    last = now;
  }, 10);
  return {
    stalls,
    stop() { clearInterval(timer); return stalls; },
    summary(fromT = -Infinity, toT = Infinity) {
      const w = stalls.filter((x) => x.t >= fromT && x.t <= toT);
      return w.length ? `${w.length} over ${overMs} ms, longest ${Math.round(Math.max(...w.map((x) => x.ms)))} ms` : `none over ${overMs} ms`;
    },
  };
}

// Runs `body` (one measured case) and, when it fails while this process's
// event loop stalled for `maxStallMs` or more, once more: the relay is the
// simulated network, and a stalled relay is a jittery, bursty network the
// case did not ask for (seen on a CPU-starved machine: 100-300 ms stalls,
// freezes and layer drops that follow from them). A failure without such a
// stall, or a second one, fails the test; a retry is logged with its cause.
export async function measureAgainIfStalled(loop, body, { maxStallMs = 100 } = {}) {
  const from = performance.now();
  try {
    return await body(1);
  } catch (err) {
    const worst = Math.max(0, ...loop.stalls.filter((x) => x.t >= from).map((x) => x.ms));
    if (worst < maxStallMs) throw err;
    console.log(`\nthe relay's event loop stalled for ${Math.round(worst)} ms during the case (the machine is busy), so the simulated ` +
      `network was not the one asked for: measuring once more. The first attempt failed with: ${String(err.message).split('\n')[0]}\n`);
    return body(2);
  }
}

// Shared by adapt.test.mjs and adapt_lossy.test.mjs.

// Polls `fn` every `ms` in the background until stop(); keeps what it returns.
export function sampler(fn, ms = 500) {
  const samples = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try { samples.push(await fn()); } catch (e) { samples.push({ error: e.message }); }
      await sleep(ms);
    }
  })();
  return { samples, async stop() { stopped = true; await done; } };
}

// "0.5s:2 3.1s:1 ...": the value pick(sample) takes at each change.
export function timeline(samples, pick) {
  const out = [];
  let last;
  for (const s of samples) {
    if (s.error) continue;
    const v = pick(s);
    if (v !== last) out.push(`${fmt(s.t / 1000)}s:${v}`);
    last = v;
  }
  return out.join(' ');
}

// Waits until the publisher sends every encoding it should, at a useful
// rate: returns its encodings with kbit/s over the last second.
export async function publisherReady(pub, { encodings, minTopKbps, timeout = 25000 }) {
  let prev = await publisherEncodings(pub);
  let rates = [];
  try {
    await waitFor(async () => {
      await sleep(1000);
      const cur = await publisherEncodings(pub);
      rates = encodingRates(prev, cur);
      prev = cur;
      return rates.length === encodings && rates.every((e) => e.kbps > 0 && e.fps > 0) && rates.at(-1).kbps >= minTopKbps;
    }, { timeout, interval: 0, what: 'the publisher' });
  } catch (e) {
    throw new Error(`the publisher did not reach ${encodings} encodings with the top at ${minTopKbps} kbit/s: ` +
      rates.map((r) => `${r.rid || '-'} ${r.width}x${r.height} ${fmt(r.fps, 0)} fps ${fmt(r.kbps, 0)} kbit/s (${r.limitation})`).join(', '));
  }
  return rates;
}

// Each freeze a fine-grained sampler saw, with what happened in the second
// before it was counted (Chromium counts a freeze when the frame after it is
// rendered).
export function freezeEvents(samples, start, stalls) {
  const ok = samples.filter((s) => !s.error);
  const out = [];
  for (let i = 1; i < ok.length; i++) {
    const n = ok[i].freezeCount - ok[i - 1].freezeCount;
    if (n <= 0) continue;
    const back = ok.filter((s) => s.t >= ok[i].t - 1000 && s.t <= ok[i].t)[0] || ok[i - 1];
    const stall = Math.max(0, ...stalls.filter((x) => x.t >= ok[i].nt - 1000 && x.t <= ok[i].nt).map((x) => x.ms));
    out.push(`${fmt((ok[i].t - start.t) / 1000)}s ${fmt(ok[i].totalFreezesDuration - ok[i - 1].totalFreezesDuration, 2)}s ` +
      `(${ok[i].relayLost - back.relayLost} dropped, ${ok[i].nackCount - back.nackCount} NACKs, ${ok[i].keyFramesDecoded - back.keyFramesDecoded} keyframes, ` +
      `${stall ? `${Math.round(stall)} ms` : 'no'} stall)`);
  }
  return out.join('; ') || 'none';
}

export function encodingsLine(rates) {
  return rates.map((r) => `${r.rid || 'video'} ${r.width}x${r.height} ${fmt(r.fps, 0)} fps ${fmt(r.kbps, 0)} kbit/s` +
    `${r.limitation && r.limitation !== 'none' ? ` (limited: ${r.limitation})` : ''}`).join(', ');
}

// Which server binary ran (it may be rebuilt between runs) and where its
// estimate came from.
export function serverLine(v) {
  let built = '?';
  try { built = fs.statSync(process.env.LSS_BIN || path.join(repoRoot, 'build/live-stream-server')).mtime.toISOString(); } catch (_) { /* gone */ }
  const source = !v ? '?' : v.estimate_bps === 0 ? 'none yet' : v.remb_bps && v.remb_bps === v.estimate_bps ? "the viewer's REMB" : "the server's own (not the REMB)";
  return `server binary built ${built}; the capped/lossy viewer's estimate: ${source}`;
}

export function cpuLine(cpu, loopSummary) {
  return `CPU (% of one core): ${Object.entries(cpu).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ')}; load average ${loadAverage()}; ` +
    `the relay's event loop stalled: ${loopSummary}`;
}

// What both adapt files run on: a server logging layer switches (debug), a
// publishing Chromium whose camera is a noisy 1280x720 30 fps Y4M, a second
// Chromium for the viewers, their PIDs for the CPU line, and a watch on this
// process's event loop (the relay runs in it).
export async function startAdaptRig() {
  const rig = { loop: loopStalls() };
  try {
    const y4m = noisyY4m({ width: 1280, height: 720, fps: 30, seconds: 2 });
    rig.server = await startServer({ LOG_LEVEL: 'debug' });
    rig.pubBrowser = await launchBrowser([`--use-file-for-fake-video-capture=${y4m}`]);
    rig.viewBrowser = await launchBrowser();
    rig.pids = {
      publisher: browserPid({ marker: y4m }),
      viewers: browserPid({ exclude: [y4m] }),
      server: rig.server.child.pid,
    };
    return rig;
  } catch (e) {
    await stopAdaptRig(rig);  // what did start does not outlive the failure
    throw e;
  }
}

// Stops what startAdaptRig started.
export async function stopAdaptRig({ server, pubBrowser, viewBrowser, loop } = {}) {
  loop?.stop();
  await pubBrowser?.close();
  await viewBrowser?.close();
  await server?.stop();
}
