// Random and protocol-shaped garbage on the media port changes nothing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
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
  const exit = await server?.stop();
  assert.equal(exit?.signal ?? null, null, 'server did not crash');
});

test('garbage datagrams are dropped and media still flows', async () => {
  const publisher = await startPublisher(browser, server, 'g1');
  const viewer = await startViewer(browser, server, 'g1');
  await expectDecoding(viewer, publisher);

  const sock = dgram.createSocket('udp4');
  const firstBytes = [0x00, 0x01, 0x02, 0x03, 0x16, 0x14, 0x17, 0x80, 0x90, 0xbf, 0x81];
  for (let i = 0; i < 5000; i++) {
    const buf = crypto.randomBytes(1 + (i % 1400));
    if (i % 2) buf[0] = firstBytes[i % firstBytes.length];
    if (i % 7 === 0 && buf.length > 8) buf.writeUInt32BE(0x2112a442, 4);  // STUN magic cookie
    await new Promise((r) => sock.send(buf, server.udpPort, '127.0.0.1', r));
  }
  sock.close();

  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  const before = await viewer.evaluate(async () => (await window.lss.inboundStats(window.view.pc)).video.framesDecoded);
  await new Promise((r) => setTimeout(r, 1500));
  const afterFrames = await viewer.evaluate(async () => (await window.lss.inboundStats(window.view.pc)).video.framesDecoded);
  assert.ok(afterFrames > before + 10, 'viewer keeps decoding');
  const late = await startViewer(browser, server, 'g1');
  await expectDecoding(late, publisher);
  await publisher.evaluate(() => window.pub.stop());
});
