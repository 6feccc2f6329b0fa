// PACING=true: each viewer's packets leave at its pacer's times (2.5x its
// bandwidth estimate, sfu/burst_pacer.hpp) through the media worker's held
// datagrams (net/paced_sends.hpp).
//  - lss-load viewers that announce an estimate (REMB) are paced: the server
//    held datagrams, and every viewer still gets every packet, in order
//    (lss-load counts sequence gaps as loss) and authenticated;
//  - a Chromium viewer behind a slow link with a shallow queue (the
//    impairment relay: 8 Mbit/s, 30 KB drop-tail) is paced and decodes the
//    stream;
//  - /metrics and /api/stats count the held datagrams;
//  - PACING=false (the default) holds nothing.
// How much pacing helps (queue drops, keyframe completion) is measured in
// bench/pacing, not asserted here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { viewerSample } from './lib/adapt.mjs';
import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startImpairedRelay } from './lib/impair.mjs';
import { loadMissing as missing, parseReport, runLoad, startLoad } from './lib/load.mjs';
import { startImpairedViewer } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

async function pacedDatagrams(server) {
  const stats = await (await fetch(`${server.url}/api/stats`)).json();
  return stats.media_workers.reduce((a, w) => a + w.paced_datagrams, 0);
}

// A server for the enclosing describe(), started before its tests with `env`
// and handed to `set`; stopped after them, and it must not have crashed.
function serverFor(env, set) {
  let server;
  before(async () => {
    server = await startServer({ ...env, LOG_LEVEL: 'info' });
    set(server);
  });
  after(async () => {
    const exit = await server?.stop();
    if (process.exitCode) console.log(server?.log());
    assert.equal(exit?.signal ?? null, null, 'server did not crash');
  });
}

describe('PACING=true', { skip: missing }, () => {
  let server;
  serverFor({ PACING: 'true' }, (s) => { server = s; });

  test('paced lss-load viewers get every packet, in order', async () => {
    const r = await runLoad([
      '--url', server.url, '--stream', 'paced', '--publish', '--viewers', '12', '--duration', '6',
      '--remb', '3000', '--srtp-sample', '1', '--json',
    ]);
    const report = parseReport(r);
    assert.equal(r.code, 0, `exit status; stderr:\n${r.stderr}`);
    assert.equal(report.viewers.receiving, 12, 'every viewer received RTP');
    assert.equal(report.viewers.with_video, 12);
    assert.equal(report.received.lost_packets, 0, 'no sequence gap at any viewer');
    assert.equal(report.received.srtp_failed, 0, 'every packet authenticated');
    // 2.5 x 3 Mbit/s spreads each keyframe (some 60 packets): the server held some.
    assert.ok(await pacedDatagrams(server) > 0, 'datagrams held for pacing');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const held = [...metrics.matchAll(/^lss_paced_datagrams_total\{worker="\d+"\} (\S+)$/gm)]
      .reduce((a, m) => a + Number(m[1]), 0);
    assert.ok(held > 0, 'lss_paced_datagrams_total counts them');
    const stats = await (await fetch(`${server.url}/api/stats`)).json();
    assert.ok(stats.media_workers.every((w) => w.paced_held >= 0));
  });

  test('a Chromium viewer behind a shallow queue is paced and decodes the stream', async () => {
    const load = startLoad(['--url', server.url, '--stream', 'shallow', '--publish', '--viewers', '0',
      '--duration', '40', '--bitrate', '2500', '--json'], { timeout: 70000 });
    const relay = await startImpairedRelay({ down: { rateKbps: 8000, queueBytes: 30000, queueMs: 2000 }, seed: 5 });
    const browser = await launchBrowser();
    try {
      await waitFor(() => server.log().includes("stream 'shallow': publisher connected"),
        { timeout: 15000, what: 'the publisher' });
      const before = await pacedDatagrams(server);
      const page = await startImpairedViewer(browser, server, 'shallow', relay);
      await waitFor(async () => (await viewerSample(page)).framesDecoded > 0,
        { timeout: 20000, what: 'the first frame' });
      // Its estimate settles (video may pause while it does), then 10 s of
      // video with several keyframes.
      await waitFor(async () => (await viewerSample(page)).framesPerSecond >= 20,
        { timeout: 30000, interval: 500, what: 'steady video' });
      const s0 = await viewerSample(page);
      await sleep(10000);
      const s1 = await viewerSample(page);
      assert.ok(s1.framesDecoded - s0.framesDecoded > 150, `frames decoded: ${s1.framesDecoded - s0.framesDecoded}`);
      assert.equal(s1.connection, 'connected');
      assert.ok(await pacedDatagrams(server) > before, 'the viewer was paced');
      assert.ok(relay.stats().down.rtp.packets > 0, 'its media went through the relay');
    } finally {
      await browser.close();
      load.stop();
      await load.done;
      await relay.close();
    }
  });
});

describe('PACING=false', { skip: missing }, () => {
  let server;
  serverFor({ PACING: 'false' }, (s) => { server = s; });

  test('nothing is held, even for viewers with an estimate', async () => {
    const r = await runLoad([
      '--url', server.url, '--stream', 'unpaced', '--publish', '--viewers', '4', '--duration', '4',
      '--remb', '3000', '--json',
    ]);
    const report = parseReport(r);
    assert.equal(report.viewers.receiving, 4);
    assert.equal(await pacedDatagrams(server), 0);
  });
});
