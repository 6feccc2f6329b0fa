// MEDIA_WORKERS: streams spread over the media workers (one UDP port each),
// and every stream is watchable wherever it landed. A large audience of one
// stream spreads over the workers too: viewers not on the stream's own
// worker are fed through a relay there.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import { loadMissing, parseReport, startLoad } from './lib/load.mjs';
import { expectDecoding, startPublisher, startViewer } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

let server, browser;
before(async () => {
  server = await startServer({ MEDIA_WORKERS: '2' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('two streams land on two workers and both reach their viewers', { timeout: 90000 }, async () => {
  assert.match(server.log(), /2 media workers on UDP \d+, \d+/);
  const pubA = await startPublisher(browser, server, 'w-one', 'VP8');
  const pubB = await startPublisher(browser, server, 'w-two', 'VP8');
  const log = server.log();
  const workerOf = (name) => Number(new RegExp(`stream '${name}' lives on media worker (\\d)`).exec(log)?.[1]);
  assert.notEqual(workerOf('w-one'), workerOf('w-two'));
  const viewA = await startViewer(browser, server, 'w-one');
  const viewB = await startViewer(browser, server, 'w-two');
  // Each viewer's answer names its stream's worker port.
  const portOf = (page) => page.evaluate(() => /a=candidate:\S+ 1 udp \d+ \S+ (\d+)/.exec(window.view.pc.remoteDescription.sdp)[1]);
  assert.notEqual(await portOf(viewA), await portOf(viewB));
  await expectDecoding(viewA, pubA, { minFrames: 20 });
  await expectDecoding(viewB, pubB, { minFrames: 20 });
  const { streams } = await (await fetch(`${server.url}/api/streams?status=live`)).json();
  assert.deepEqual(streams.map((s) => s.name).sort(), ['w-one', 'w-two']);
  // Hang up (not just close the pages) so both workers are empty again.
  for (const v of [viewA, viewB]) await v.evaluate(() => window.view.stop());
  for (const p of [pubA, pubB]) await p.evaluate(() => window.pub.stop());
  for (const p of [viewA, viewB, pubA, pubB]) await p.close();
});

test('a large audience spreads over both workers; the relayed viewers see the stream', { timeout: 120000, skip: loadMissing }, async () => {
  // Both workers empty (peers are swept on the workers' next tick).
  await new Promise((r) => setTimeout(r, 200));
  const pub = await startPublisher(browser, server, 'w-fan', 'VP8');
  const portOf = (page, obj) => page.evaluate((o) => /a=candidate:\S+ 1 udp \d+ \S+ (\d+)/.exec(window[o].pc.remoteDescription.sdp)[1], obj);
  const live = async () => (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams.find((s) => s.name === 'w-fan');
  // Nine cheap viewers (lss-load) fill the stream's worker past the point
  // where new viewers go elsewhere; they watch until the stream ends.
  const crowd = startLoad(['--url', server.url, '--stream', 'w-fan', '--viewers', '9', '--ramp', '100',
    '--duration', '80', '--join-timeout', '10', '--json'], { timeout: 100000 });
  await waitFor(async () => (await live())?.viewers === 9, { timeout: 15000, what: 'nine lss-load viewers' });

  const v1 = await startViewer(browser, server, 'w-fan');
  const v2 = await startViewer(browser, server, 'w-fan');
  const origin = await portOf(pub, 'pub');
  assert.notEqual(await portOf(v1, 'view'), origin, 'the first browser viewer is on the other worker');
  assert.equal(await portOf(v2, 'view'), await portOf(v1, 'view'));
  await expectDecoding(v1, pub, { minFrames: 20 });
  await expectDecoding(v2, pub, { minFrames: 20 });
  await waitFor(async () => (await live())?.viewers === 11, { timeout: 5000, what: 'relayed viewers counted' });
  // Both workers forward, and say how long packets stayed in the server.
  const { media_workers: workers } = await (await fetch(`${server.url}/api/stats`)).json();
  assert.equal(workers.length, 2);
  for (const w of workers) {
    assert.ok(w.forwarding_latency_us.datagrams > 0, `worker ${w.index} forwarded`);
    assert.ok(w.forwarding_latency_us.p99 >= w.forwarding_latency_us.p50);
  }

  // A relayed viewer's session is ended on its own worker.
  const res = await fetch(await v1.evaluate(() => window.view.location), { method: 'DELETE' });
  assert.equal(res.status, 200);
  await waitFor(() => v1.evaluate(() => window.view.ended()), { timeout: 5000, what: 'the relayed viewer to be closed' });
  await waitFor(async () => (await live())?.viewers === 10, { timeout: 5000, what: 'ten viewers counted' });

  // The stream's end reaches the relay's viewers at once, and the crowd's.
  await pub.evaluate(() => window.pub.stop());
  await waitFor(() => v2.evaluate(() => window.view.ended()), { timeout: 5000, what: 'the stream\'s end to reach the relayed viewer' });
  crowd.stop();
  const report = parseReport(await crowd.done);
  assert.equal(report.viewers.receiving, 9, 'every lss-load viewer received media');
  assert.deepEqual(await live(), undefined);
  for (const p of [v1, v2, pub]) await p.close();
});
