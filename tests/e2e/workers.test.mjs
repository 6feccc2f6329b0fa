// MEDIA_WORKERS: streams spread over the media workers (one UDP port each),
// and every stream is watchable wherever it landed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
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
  for (const p of [viewA, viewB, pubA, pubB]) await p.close();
});
