// Churn and leaks: 2,000 WHEP viewer join/leave cycles (lss-load --cycles,
// 50 at a time) on a steady publisher, then 200 WHIP publisher start/stop
// cycles, against a recording server. Afterwards the server must be back
// where it started: the same open descriptors, RSS within 10 %, and no
// session, peer or stream left in the admin API, /api/stats or /metrics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { sleep, waitFor } from './lib/browser.mjs';
import { loadMissing as missing, parseReport, runLoad, startLoad } from './lib/load.mjs';
import { startServer } from './lib/server.mjs';

const VIEWERS = 50, VIEWER_CYCLES = 40;          // 2,000 viewer sessions
const PUBLISHERS = 2, PUBLISHER_CYCLES = 100;    // 200 publisher sessions
const HOLD_MS = 300;

let server;
before(async () => {
  if (missing) return;
  server = await startServer({ LOG_LEVEL: 'info' });
});
after(async () => {
  const exit = await server?.stop();
  if (process.exitCode) console.log(server?.log().slice(-20000));
  assert.equal(exit?.signal ?? null, null, 'server did not crash');
});

// GET on a connection of its own that closes after the answer: the fetch()
// pool's keep-alive sockets would count among the server's descriptors.
function getText(path) {
  return new Promise((resolve, reject) => {
    http.get(`${server.url}${path}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}
async function getJson(path) {
  const r = await getText(path);
  assert.equal(r.status, 200, `GET ${path}: ${r.body}`);
  return JSON.parse(r.body);
}

function fds() {
  return fs.readdirSync(`/proc/${server.child.pid}/fd`).length;
}
function fdTargets() {
  const dir = `/proc/${server.child.pid}/fd`;
  return fs.readdirSync(dir).map((fd) => {
    try { return `${fd} -> ${fs.readlinkSync(`${dir}/${fd}`)}`; } catch { return `${fd} (gone)`; }
  });
}
function rssKb() {
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
}

// What is left on the server: sessions (admin API), viewers (/api/stats),
// live streams, the /metrics gauges, clips waiting in the spool.
async function leftovers() {
  const sessions = (await getJson('/api/admin/sessions')).sessions.length;
  const viewers = (await getJson('/api/stats')).viewers.length;
  const live = (await getJson('/api/streams?status=live')).streams.length;
  const metrics = (await getText('/metrics')).body;
  const gauge = (series) => {
    const m = new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics);
    assert.ok(m, `no ${series} in /metrics`);
    return Number(m[1]);
  };
  return {
    sessions, viewers, live,
    lss_streams: gauge('lss_streams'),
    publisher_peers: gauge('lss_peers{role="publisher"}'),
    viewer_peers: gauge('lss_peers{role="viewer"}'),
    relay_peers: gauge('lss_peers{role="relay"}'),
    spool_clips: gauge('lss_spool_clips'),
  };
}
const NOTHING = {
  sessions: 0, viewers: 0, live: 0, lss_streams: 0, publisher_peers: 0, viewer_peers: 0,
  relay_peers: 0, spool_clips: 0,
};

// Waits until nothing is left and the descriptor count has stopped moving
// (closing HTTP connections, a recording's last clip being stored).
async function settle(timeout = 30000) {
  let last;
  await waitFor(async () => {
    last = await leftovers();
    return Object.values(last).every((v) => v === 0);
  }, { timeout, interval: 250, what: 'an idle server' }).catch(() => {
    assert.deepEqual(last, NOTHING, 'sessions, peers and streams left');
  });
  let prev = -1, now = fds();
  for (const deadline = Date.now() + timeout; now !== prev && Date.now() < deadline;) {
    await sleep(1000);
    [prev, now] = [now, fds()];
  }
  return last;
}

// The steady publisher the viewers watch (SIGINT ends it: it DELETEs its session).
function steadyPublisher(stream) {
  const run = startLoad(['--url', server.url, '--stream', stream, '--publish', '--duration', '600', '--json'],
    { timeout: 700000 });
  return {
    async live() {
      await waitFor(async () => (await getJson('/api/streams?status=live')).streams.some((s) => s.name === stream),
        { timeout: 20000, what: `${stream} live` });
    },
    async stop() {
      run.stop();
      const r = await run.done;
      const report = parseReport(r);
      assert.equal(report.publishers.connected, 1, `steady publisher: ${r.stderr}`);
      assert.ok(report.publishers.video_packets_sent > 0 && report.publishers.audio_packets_sent > 0);
      assert.equal(report.teardown.deletes_ok, 1, 'the steady publisher was deleted');
      return report;
    },
  };
}

// lss-load --cycles; asserts every session joined, got media and was deleted.
async function churnViewers(stream, viewers, cycles) {
  const r = await runLoad(['--url', server.url, '--stream', stream, '--viewers', String(viewers),
    '--cycles', String(cycles), '--hold-ms', String(HOLD_MS), '--json'], { timeout: 400000 });
  const report = parseReport(r);
  const n = viewers * cycles;
  const v = report.viewers;
  assert.deepEqual(report.errors, {}, `viewer churn errors; stderr:\n${r.stderr.slice(-4000)}`);
  assert.equal(v.requested, n, 'sessions opened');
  assert.equal(v.connected, n, 'every viewer connected (ICE + DTLS)');
  assert.equal(v.receiving, n, 'every viewer received RTP');
  // Audio flows from the first packet; video waits for the next keyframe,
  // which a 300 ms stay often ends before.
  assert.equal(v.with_audio, n, 'every viewer received audio');
  assert.ok(v.with_video > 0, 'viewers received video');
  assert.equal(v.failed, 0);
  assert.equal(report.received.srtp_failed, 0, 'every sampled packet authenticated');
  assert.ok(report.received.rtp_packets >= n, `${report.received.rtp_packets} RTP packets`);
  assert.equal(report.teardown.deletes_sent, n, 'each viewer left with a DELETE');
  assert.equal(report.teardown.deletes_ok, n, 'every DELETE answered 2xx');
  return report;
}

async function churnPublishers(stream, publishers, cycles) {
  const r = await runLoad(['--url', server.url, '--stream', stream, '--publishers', String(publishers),
    '--cycles', String(cycles), '--hold-ms', String(HOLD_MS), '--json'], { timeout: 400000 });
  const report = parseReport(r);
  const n = publishers * cycles;
  const p = report.publishers;
  assert.deepEqual(report.errors, {}, `publisher churn errors; stderr:\n${r.stderr.slice(-4000)}`);
  assert.equal(p.requested, n, 'sessions opened');
  assert.equal(p.connected, n, 'every publisher connected');
  assert.equal(p.with_media, n, 'every publisher sent video and audio');
  assert.equal(p.failed, 0);
  assert.equal(report.teardown.deletes_sent, n, 'each publisher left with a DELETE');
  assert.equal(report.teardown.deletes_ok, n, 'every DELETE answered 2xx');
  return report;
}

// The recordings of `prefix`-N streams: one ended stream with a clip per session.
async function recordedSessions(prefix) {
  const streams = [];
  for (let offset = 0; ; offset += 500) {
    const page = (await getJson(`/api/streams?status=ended&limit=500&offset=${offset}`)).streams;
    streams.push(...page.filter((s) => s.name.startsWith(`${prefix}-`)));
    if (page.length < 500) return streams;
  }
}

let start;  // the idle server after the warm-up: { fds, rss }
const started = Date.now();

// The warm-up churns at the stages' own concurrency, so the start is measured
// after the allocator and caches have seen the working set once.
test('warm-up: 100 viewer and 10 publisher cycles, then the idle server is measured',
  { skip: missing, timeout: 120000 }, async () => {
    const steady = steadyPublisher('warm');
    await steady.live();
    await churnViewers('warm', VIEWERS, 2);
    await steady.stop();
    await churnPublishers('warm-pub', PUBLISHERS, 5);
    assert.deepEqual(await settle(), NOTHING);
    start = { fds: fds(), rss: rssKb() };
    console.log(`idle after warm-up: ${start.fds} fds, RSS ${start.rss} kB`);
  });

test(`${VIEWERS * VIEWER_CYCLES} viewer join/leave cycles, ${VIEWERS} at a time`,
  { skip: missing, timeout: 300000 }, async () => {
    assert.ok(start, 'the warm-up measured the idle server');
    const steady = steadyPublisher('churn');
    await steady.live();
    const t0 = Date.now();
    const report = await churnViewers('churn', VIEWERS, VIEWER_CYCLES);
    console.log(`viewer churn: ${report.viewers.requested} sessions in ${report.elapsed_s} s, join p50 ` +
      `${report.viewers.join_ms.p50} ms p99 ${report.viewers.join_ms.p99} ms, with video ` +
      `${report.viewers.with_video}, RSS now ${rssKb()} kB, ${fds()} fds`);
    // The steady stream still has its publisher and nobody else.
    const live = (await getJson('/api/streams?status=live')).streams;
    assert.deepEqual(live.map((s) => [s.name, s.viewers]), [['churn', 0]]);
    assert.equal((await getJson('/api/stats')).viewers.length, 0, 'no viewer left');
    await steady.stop();
    console.log(`viewer stage took ${Math.round((Date.now() - t0) / 1000)} s`);
  });

test(`${PUBLISHERS * PUBLISHER_CYCLES} publisher start/stop cycles, each recorded`,
  { skip: missing, timeout: 300000 }, async () => {
    assert.ok(start, 'the warm-up measured the idle server');
    const t0 = Date.now();
    const report = await churnPublishers('churn-pub', PUBLISHERS, PUBLISHER_CYCLES);
    console.log(`publisher churn: ${report.publishers.requested} sessions in ${report.elapsed_s} s, ` +
      `RSS now ${rssKb()} kB, ${fds()} fds`);
    // Each session's media reached the recorder: an ended stream with a clip.
    let streams = [];
    await waitFor(async () => {
      streams = await recordedSessions('churn-pub');
      return streams.length === PUBLISHERS * PUBLISHER_CYCLES && streams.every((s) => s.clip_count >= 1);
    }, { timeout: 30000, interval: 500, what: 'every publisher session recorded' }).catch(() => {});
    assert.equal(streams.length, PUBLISHERS * PUBLISHER_CYCLES, 'one ended stream per publisher session');
    const unrecorded = streams.filter((s) => s.clip_count < 1);
    assert.deepEqual(unrecorded.map((s) => s.id), [], 'sessions without a clip');
    console.log(`publisher stage took ${Math.round((Date.now() - t0) / 1000)} s`);
  });

test('afterwards: nothing left, descriptors back to the start, RSS within 10 %',
  { skip: missing, timeout: 90000 }, async () => {
    assert.ok(start, 'the warm-up measured the idle server');
    assert.deepEqual(await settle(), NOTHING, 'sessions, peers and streams left');
    // Descriptors: exactly the idle count (sockets, recording files, the
    // catalog), given a moment for closing connections.
    let end;
    await waitFor(() => (end = fds()) === start.fds, { timeout: 15000, interval: 500, what: 'fds' })
      .catch(() => {});
    assert.equal(end, start.fds, `open descriptors now:\n${fdTargets().join('\n')}`);
    const rss = rssKb();
    console.log(`idle after churn: ${end} fds (start ${start.fds}), RSS ${rss} kB (start ${start.rss} kB, ` +
      `${(100 * (rss - start.rss) / start.rss).toFixed(1)} %); whole file ${Math.round((Date.now() - started) / 1000)} s`);
    assert.ok(rss <= start.rss * 1.1, `RSS ${rss} kB grew more than 10 % over ${start.rss} kB`);
  });
