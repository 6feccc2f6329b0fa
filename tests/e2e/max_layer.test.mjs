// A small player's ceiling: WHEP ?maxLayer=0 keeps a viewer on the slowest
// simulcast layer while another viewer of the same stream gets the larger.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, openPage, sleep, waitFor } from './lib/browser.mjs';
import { startViewer, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

let browser, server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('?maxLayer=0 holds a viewer on the smallest layer; an uncapped one gets a larger', { timeout: 90000 }, async () => {
  const pages = [];
  try {
    // Chromium's fake camera at 640x480 sends two layers: 160x120 and 320x240.
    const pub = await openPage(browser, server);
    pages.push(pub);
    await pub.evaluate(async () => { window.pub = await window.lss.publish('smallcam', { codec: 'VP8', simulcast: true }); });
    const capped = await openPage(browser, server);
    pages.push(capped);
    await capped.evaluate(async () => {
      window.view = await window.lss.watch('smallcam', { maxLayer: 0 });
      const el = document.createElement('video');
      el.autoplay = true;
      el.muted = true;
      el.srcObject = window.view.media;
      document.body.append(el);
    });
    assert.match(await capped.evaluate(() => window.view.location), /\/whep\/smallcam\/[0-9a-f]+$/);
    const free = await startViewer(browser, server, 'smallcam');
    pages.push(free);
    await waitFor(async () => (await viewerStats(free)).width > (await viewerStats(capped)).width && (await viewerStats(capped)).width > 0,
      { timeout: 30000, what: 'the uncapped viewer to get a larger picture than the capped one' });
    const widths = [];
    for (let i = 0; i < 10; ++i) {
      widths.push((await viewerStats(capped)).width);
      await sleep(300);
    }
    const smallest = Math.min(...widths);
    assert.ok(widths.every((w) => w === smallest), `capped viewer widths ${widths}`);
    assert.ok(smallest < (await viewerStats(free)).width);
    assert.ok((await viewerStats(capped)).framesDecoded > 30);
    // A ceiling that is not a layer rank is refused.
    const bad = await fetch(`${server.url}/whep/smallcam?maxLayer=top`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(bad.status, 400);
  } finally {
    for (const p of pages) await p.close().catch(() => {});
  }
});
