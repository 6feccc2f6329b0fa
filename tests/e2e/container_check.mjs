// scripts/container-test.sh's media check: a Chromium publisher (WHIP) and
// viewer (WHEP) through the server at LSS_URL (the container), decoding.
import assert from 'node:assert/strict';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import { startPublisher, startViewer, viewerStats } from './lib/media.mjs';

const url = process.env.LSS_URL;
if (!url) throw new Error('LSS_URL is required');
const server = { url };
const browser = await launchBrowser();
try {
  const pub = await startPublisher(browser, server, 'container', 'VP8');
  const view = await startViewer(browser, server, 'container');
  await waitFor(async () => (await viewerStats(view)).framesDecoded > 30,
    { timeout: 20000, interval: 200, what: 'the viewer to decode 30 frames' });
  const v = await viewerStats(view);
  console.log(`viewer: ${v.framesDecoded} frames ${v.width}x${v.height} ${v.videoCodec}, ${v.audioPackets} audio packets`);
  assert.ok(v.audioPackets > 10);
  const streams = await (await fetch(`${url}/api/streams?status=live`)).json();
  assert.ok(streams.streams.some((s) => s.name === 'container'), JSON.stringify(streams));
  await view.evaluate(() => window.view.stop());
  await pub.evaluate(() => window.pub.stop());
} finally {
  await browser.close();
}
