// One WHIP publisher, several WHEP viewers, a late joiner, and the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, waitFor, sleep } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer, timeToFirstFrame, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async (t) => {
  await browser?.close();
  const exit = await server?.stop();
  if (process.exitCode) console.log(server.log());
  return exit;
});

test('VP8 publisher reaches three viewers, a late joiner, and its end closes them', async () => {
  const publisher = await startPublisher(browser, server, 'cam1', 'VP8');
  const viewers = [];
  for (let i = 0; i < 3; i++) viewers.push(await startViewer(browser, server, 'cam1'));
  for (const v of viewers) {
    const s = await expectDecoding(v, publisher);
    assert.equal(s.videoCodec, 'video/VP8');
    assert.ok(s.audioSamples > 0, 'audio samples decoded');
  }
  const pub = await publisher.evaluate(() => window.pub.location);
  assert.match(pub, /\/whip\/cam1\/[0-9a-f]+$/);

  const list = await (await fetch(`${server.url}/api/streams?status=live`)).json();
  assert.equal(list.streams.length, 1);
  assert.equal(list.streams[0].name, 'cam1');
  assert.equal(list.streams[0].viewers, 3);

  await sleep(3000);
  const late = await startViewer(browser, server, 'cam1');
  const ms = await timeToFirstFrame(late);
  assert.ok(ms < 2000, `late joiner's first frame took ${Math.round(ms)} ms`);

  // The publisher stops: every viewer is told (DTLS close) and the name is free.
  await publisher.evaluate(() => window.pub.stop());
  for (const v of [...viewers, late]) {
    await waitFor(async () => (await viewerStats(v)).ended, { timeout: 10000, what: 'viewer to end' });
  }
  await waitFor(async () => (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams.length === 0, {
    what: 'stream list to empty',
  });
  const again = await startPublisher(browser, server, 'cam1');
  await again.evaluate(() => window.pub.stop());
});

test('a viewer that leaves does not disturb the others', async () => {
  const publisher = await startPublisher(browser, server, 'cam2');
  const a = await startViewer(browser, server, 'cam2');
  const b = await startViewer(browser, server, 'cam2');
  await expectDecoding(a, publisher);
  await b.evaluate(() => window.view.stop());
  // The other keeps decoding (a second of frames within 5 s: no timing
  // bar, which a busy machine or the sanitized server would miss).
  const before = (await viewerStats(a)).framesDecoded;
  await waitFor(async () => (await viewerStats(a)).framesDecoded > before + 30,
    { timeout: 5000, what: `30 more frames at the remaining viewer (had ${before})` });
  assert.equal((await viewerStats(a)).ended, false);
  await publisher.evaluate(() => window.pub.stop());
});
