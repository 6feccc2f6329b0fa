// H264 (and VP9, AV1) publishers work as well as VP8.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  if (process.exitCode) console.log(server.log());
});

for (const codec of ['H264', 'VP9', 'AV1']) {
  test(`${codec} publisher reaches two viewers`, async () => {
    const name = `codec-${codec}`;
    const publisher = await startPublisher(browser, server, name, codec);
    const viewers = [await startViewer(browser, server, name), await startViewer(browser, server, name)];
    for (const v of viewers) {
      const s = await expectDecoding(v, publisher);
      assert.equal(s.videoCodec, `video/${codec}`);
    }
    await publisher.evaluate(() => window.pub.stop());
  });
}
