// A person's click-through of the built-in page: publish in one tab, watch in another.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('publish from the page and watch it in a second tab', async () => {
  const pub = await browser.newPage();
  await pub.goto(`${server.url}/`);
  await pub.fill('#pub-name', 'from-ui');
  await pub.click('#pub-start');
  await pub.waitForFunction(() => document.querySelector('#pub-status').textContent.includes('Live'), null, { timeout: 15000 });

  const view = await browser.newPage();
  await view.goto(`${server.url}/`);
  const button = view.locator('#live-list button[data-stream="from-ui"]');
  await button.waitFor({ timeout: 10000 });
  await button.click();
  await view.waitForFunction(() => {
    const v = document.querySelector('#players video');
    return v && v.videoWidth > 0 && v.currentTime > 0.5;
  }, null, { timeout: 15000 });
  const width = await view.evaluate(() => document.querySelector('#players video').videoWidth);
  assert.ok(width > 0);
  await waitFor(async () => (await view.textContent('#players .stats')).includes('fps'), { what: 'stats line' });

  await pub.click('#pub-stop');
  await view.waitForFunction(() => document.querySelector('#players .status').textContent.includes('ended'), null, { timeout: 15000 });

  // The recording shows up in the page and plays from its URL.
  const link = view.locator('#clip-list a.clip-link').first();
  await waitFor(async () => {
    await view.click('#rec-refresh');
    return (await view.locator('#clip-list a.clip-link').count()) > 0;
  }, { timeout: 20000, interval: 500, what: 'a clip in the page' });
  assert.match(await link.textContent(), /from-ui #0/);
  await link.click();
  await view.waitForFunction(() => {
    const v = document.querySelector('#clip-player');
    return v.videoWidth > 0 && v.currentTime > 0.2;
  }, null, { timeout: 15000 });
});

test('an error is shown to the user', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.fill('#watch-name', 'nobody-here');
  await page.click('#watch-form button[type=submit]');
  await page.waitForFunction(() => /404/.test(document.querySelector('#players .status').textContent), null, { timeout: 10000 });
});
