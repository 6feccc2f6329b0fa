// What a viewer's transport costs: the same stream watched by VIEWERS
// Chromium viewers over UDP, over ICE-TCP, and relayed through TURN (Debian's
// coturn, UDP relay), one transport at a time, SECONDS each. Prints a
// Markdown table: the server's CPU (and coturn's) per viewer, the selected
// pair's round-trip time, the jitter buffer's delay per frame, frames and
// bitrate. Not a test (timings are machine-dependent): README's "Behind
// firewalls and NAT" quotes its output. Run it like the e2e tests, inside a
// private network namespace:
//
//   LSS_BIN=$PWD/build/live-stream-server unshare -n bash -c \
//     'ip link set lo up && cd tests/e2e && node measure_transports.mjs'
import fs from 'node:fs';

import { haveCoturn, selectedPair, startCoturn, watchOver } from './lib/blocked.mjs';
import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startPublisher, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

const VIEWERS = Number(process.env.VIEWERS || 3);
const SECONDS = Number(process.env.SECONDS || 15);
const TICK = 100 / 1; // USER_HZ on Linux

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;  // utime + stime
}

async function pageNumbers(page) {
  return page.evaluate(async () => {
    let v = null;
    let pairRtt = null;
    let bytes = 0;
    (await window.view.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
      if (s.type === 'inbound-rtp') bytes += s.bytesReceived || 0;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairRtt = s.currentRoundTripTime;
    });
    return {
      frames: v?.framesDecoded || 0, jbDelay: v?.jitterBufferDelay || 0, jbCount: v?.jitterBufferEmittedCount || 0,
      freezes: v?.freezeCount || 0, bytes, rtt: pairRtt,
    };
  });
}

async function measure(browser, s, turn, mode) {
  const opts = mode === 'udp' ? { only: 'udp' }
    : mode === 'tcp' ? { only: 'tcp' }
      : { only: 'udp', iceTransportPolicy: 'relay' };
  const pages = [];
  for (let i = 0; i < VIEWERS; ++i) pages.push(await watchOver(browser, s, 'm', opts));
  for (const p of pages) {
    await waitFor(async () => (await viewerStats(p)).framesDecoded > 30, { timeout: 30000, interval: 200, what: `${mode} viewer` });
  }
  const pair = await selectedPair(pages[0]);
  await sleep(2000);
  const before = await Promise.all(pages.map(pageNumbers));
  const cpu0 = cpuSeconds(s.child.pid);
  const turnCpu0 = turn ? cpuSeconds(turn.pid) : 0;
  const rtts = [];
  const t0 = Date.now();
  while (Date.now() - t0 < SECONDS * 1000) {
    await sleep(1000);
    for (const p of pages) {
      const n = await pageNumbers(p);
      if (n.rtt != null) rtts.push(n.rtt * 1000);
    }
  }
  const secs = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(s.child.pid) - cpu0;
  const turnCpu = turn && mode === 'turn' ? cpuSeconds(turn.pid) - turnCpu0 : 0;
  const after = await Promise.all(pages.map(pageNumbers));
  let frames = 0; let jb = 0; let jbn = 0; let bytes = 0; let freezes = 0;
  after.forEach((a, i) => {
    frames += a.frames - before[i].frames;
    jb += a.jbDelay - before[i].jbDelay;
    jbn += a.jbCount - before[i].jbCount;
    bytes += a.bytes - before[i].bytes;
    freezes += a.freezes - before[i].freezes;
  });
  for (const p of pages) {
    await p.evaluate(() => window.view.stop());
    await p.close();
  }
  rtts.sort((a, b) => a - b);
  return {
    mode, pair: pair ? `${pair.protocol}${pair.localType === 'relay' ? ' via relay' : ''}` : '?',
    serverCpuPerViewer: (100 * cpu) / secs / VIEWERS, turnCpuPerViewer: (100 * turnCpu) / secs / VIEWERS,
    rttMedian: rtts.length ? rtts[Math.floor(rtts.length / 2)] : NaN,
    jitterBufferMs: jbn ? (1000 * jb) / jbn : NaN,
    fps: frames / secs / VIEWERS, mbps: (8 * bytes) / secs / VIEWERS / 1e6, freezes,
  };
}

if (!haveCoturn()) throw new Error('needs Debian coturn (turnserver)');
const turn = await startCoturn();
const s = await startServer({ ICE_SERVERS: `turn:127.0.0.1:${turn.port}`, TURN_SECRET: turn.secret, LOG_LEVEL: 'info' });
const browser = await launchBrowser();
try {
  await startPublisher(browser, s, 'm', 'VP8');
  const rows = [];
  for (const mode of ['udp', 'tcp', 'turn']) rows.push(await measure(browser, s, turn, mode));
  console.log(`\n${VIEWERS} viewers per transport, ${SECONDS} s each, one Chromium publisher (VP8 + Opus), loopback:\n`);
  console.log('| viewers over | selected pair | server CPU per viewer | coturn CPU per viewer | RTT (median) | jitter buffer per frame | fps | Mbit/s per viewer | freezes |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.mode} | ${r.pair} | ${r.serverCpuPerViewer.toFixed(2)} % | ${r.mode === 'turn' ? `${r.turnCpuPerViewer.toFixed(2)} %` : '-'} | ${r.rttMedian.toFixed(1)} ms | ${r.jitterBufferMs.toFixed(1)} ms | ${r.fps.toFixed(1)} | ${r.mbps.toFixed(2)} | ${r.freezes} |`);
  }
} finally {
  await browser.close();
  await s.stop();
  await turn.stop();
}
