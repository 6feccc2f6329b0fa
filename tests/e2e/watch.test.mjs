// The page of one stream, /watch/{name} (web/watch.html): it waits for the
// stream, plays it muted with an Unmute button, comes back by itself after a
// drop, says when the stream has ended, and plays embedded in an iframe on
// another site. Then the main page's live list (viewer counts, watch page
// link, embed code) and its recordings search.
// Screenshots go to tests/e2e/out/watch/ (or $E2E_OUT_DIR); their paths are
// printed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

import { launchBrowser, openPage, sleep, waitFor } from './lib/browser.mjs';
import { startPublisher } from './lib/media.mjs';
import { freeTcpPort, startServer } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(process.env.E2E_OUT_DIR || path.join(here, 'out'), 'watch');

let server, browser;
before(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  // No ICE-TCP: a viewer whose UDP is cut (below) really loses the stream.
  server = await startServer({ ICE_TCP: 'false' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  if (process.exitCode) console.log(server.log());
});

async function screenshot(page, name) {
  const file = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot: ${file}`);
}

// A page or a frame of the watch page: its state and its video.
const state = (p) => p.evaluate(() => document.body.dataset.state);
const video = (p) => p.evaluate(async () => {
  const v = document.querySelector('#video');
  const s = window.watchPage.session;
  let framesDecoded = 0;
  if (s && s.pc.connectionState !== 'closed') {
    const { video: inbound } = await window.lss.inboundStats(s.pc);
    framesDecoded = inbound ? inbound.framesDecoded || 0 : 0;
  }
  return { width: v.videoWidth, time: v.currentTime, muted: v.muted, framesDecoded, paused: v.paused };
});

// Live, with frames decoded and the picture moving.
async function expectPlaying(p, what, timeout = 15000) {
  await waitFor(async () => (await state(p)) === 'live', { timeout, what: `${what}: data-state=live` });
  const first = await waitFor(async () => { const v = await video(p); return v.width > 0 && v.framesDecoded > 0 && v; },
    { timeout, what: `${what}: decoded frames` });
  await waitFor(async () => { const v = await video(p); return v.time > first.time + 0.5 && v.framesDecoded > first.framesDecoded + 10; },
    { timeout, what: `${what}: the picture moving` });
}

// A browser context of its own. Chromium gathers ICE candidates on every
// interface (here: loopback, the test's network namespace has no other)
// only for a page with a media permission; without one only on the default
// route's, which this namespace lacks.
function viewerContext(permissions = []) {
  return browser.newContext({ permissions: ['camera', 'microphone', ...permissions] });
}

async function openWatchPage(name, where = browser) {
  const page = await where.newPage();
  page.on('pageerror', (e) => console.log('watch page error:', e.message));
  await page.goto(`${server.url}/watch/${name}`);
  return page;
}

test('waits for the stream, plays it, unmutes, recovers from drops, and ends', async () => {
  const page = await openWatchPage('show1');
  await waitFor(async () => (await state(page)) === 'waiting', { what: 'data-state=waiting' });
  await waitFor(async () => (await page.textContent('#message-text')).includes('Waiting for the stream'), { what: 'waiting text' });
  assert.ok(await page.isVisible('#message-text'), 'the waiting message is visible');
  assert.equal(await page.textContent('#stream-name'), 'show1');
  await sleep(2500);  // a poll or two with nothing live: still waiting
  assert.equal(await state(page), 'waiting');
  await screenshot(page, 'waiting');

  // The stream starts: the page starts by itself, muted.
  const started = Date.now();
  let pub = await startPublisher(browser, server, 'show1');
  await waitFor(async () => (await state(page)) === 'live', { timeout: 10000, what: 'live within 10 s of publishing' });
  console.log(`live ${Date.now() - started} ms after the publisher started`);
  await expectPlaying(page, 'first play');
  assert.ok(!(await page.isVisible('#message')), 'no message over a playing stream');
  assert.ok((await video(page)).muted, 'autoplays muted');
  await screenshot(page, 'live');

  // Unmute, and back.
  assert.equal((await page.textContent('#unmute')).trim(), 'Unmute');
  await page.click('#unmute');
  let v = await video(page);
  assert.equal(v.muted, false, 'unmuted');
  assert.equal(v.paused, false, 'still playing unmuted');
  assert.equal((await page.textContent('#unmute')).trim(), 'Mute');
  await page.click('#unmute');
  assert.equal((await video(page)).muted, true);

  // The page's connection is lost (closed under it): a new WHEP session.
  await page.evaluate(() => window.watchPage.session.pc.close());
  await waitFor(async () => (await page.evaluate(() => window.watchPage.reconnects)) >= 1, { timeout: 10000, what: 'a new session' });
  await expectPlaying(page, 'after the connection was closed');

  // The server drops the viewer (its WHEP session deleted): back again.
  const location = await page.evaluate(() => window.watchPage.session.location);
  assert.equal((await fetch(location, { method: 'DELETE' })).status, 200);
  await waitFor(async () => (await page.evaluate(() => window.watchPage.reconnects)) >= 2, { timeout: 20000, what: 'a session after the DELETE' });
  await expectPlaying(page, 'after the server dropped the viewer');
  const lost = await page.evaluate(() => window.watchPage.lost);
  console.log(`sessions lost: ${lost.join(', ')}`);

  // The publisher stops: the page says the stream has ended.
  await pub.evaluate(() => window.pub.stop());
  await waitFor(async () => (await state(page)) === 'ended', { timeout: 10000, what: 'data-state=ended' });
  assert.match(await page.textContent('#message-text'), /stream has ended/);
  assert.ok(await page.isVisible('#message-text'));
  await screenshot(page, 'ended');
  await pub.close();

  // The streamer comes back: so does the page.
  pub = await startPublisher(browser, server, 'show1');
  await expectPlaying(page, 'a new broadcast under the same name');
  await pub.evaluate(() => window.pub.stop());
  await waitFor(async () => (await state(page)) === 'ended', { timeout: 10000, what: 'ended again' });
  await page.close();
  await pub.close();
});

// nftables drops the UDP of a Chromium whose WebRTC ports are confined to a
// range (its own profile's preference); only in a private network namespace.
function inPrivateNetns() {
  try {
    return fs.readlinkSync('/proc/self/ns/net') !== fs.readlinkSync('/proc/1/ns/net');
  } catch (_) {
    const r = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    return r.status === 0 && [...r.stdout.matchAll(/^\d+:\s+([^:@\s]+)/gm)].every((m) => ['lo', 'v0', 'v1'].includes(m[1]));
  }
}
const canBlock = inPrivateNetns() && spawnSync('sh', ['-c', 'command -v nft']).status === 0;
const RANGE = '21000-21100';

test('recovers by itself after its network drops for a while', { skip: !canBlock && 'needs nft in a private network namespace' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-watch-udp-'));
  fs.mkdirSync(path.join(dir, 'Default'));
  fs.writeFileSync(path.join(dir, 'Default', 'Preferences'), JSON.stringify({ webrtc: { udp_port_range: RANGE } }));
  const confined = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection', '--disable-background-networking', '--disable-quic', '--disable-gpu',
      '--autoplay-policy=no-user-gesture-required'],
  });
  const table = `lss_watch_drop_${process.pid}`;
  const nft = (args, input) => spawnSync('nft', args, { input, encoding: 'utf8', timeout: 10000 });
  try {
    const pub = await startPublisher(browser, server, 'netdrop');
    const page = await openWatchPage('netdrop', confined);
    await expectPlaying(page, 'before the drop');
    const r = nft(['-f', '-'], `table inet ${table} {
  chain out {
    type filter hook output priority 0; policy accept;
    udp sport ${RANGE} drop
    udp dport ${RANGE} drop
  }
}
`);
    assert.equal(r.status, 0, r.stderr);
    // Long enough for ICE to give up and the page to start over.
    await waitFor(async () => (await page.evaluate(() => window.watchPage.lost.length)) >= 1, { timeout: 20000, what: 'the page to notice the drop' });
    assert.equal(await state(page), 'waiting', 'reconnecting, not ended');
    assert.match(await page.textContent('#message-text'), /Reconnecting/);
    await sleep(3000);
    nft(['delete', 'table', 'inet', table]);
    await expectPlaying(page, 'after the network came back', 30000);
    const { lost, reconnects } = await page.evaluate(() => window.watchPage);
    console.log(`network drop: sessions lost (${lost.join(', ')}), ${reconnects} reconnects`);
    await pub.evaluate(() => window.pub.stop());
    await waitFor(async () => (await state(page)) === 'ended', { timeout: 10000, what: 'ended' });
    await pub.close();
  } finally {
    nft(['delete', 'table', 'inet', table]);
    await confined.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('plays embedded in an iframe on another site', async () => {
  // Another origin: another host name and port.
  const port = await freeTcpPort();
  const site = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>a blog</title><h1>My stream</h1>
<iframe id="player" src="${server.url}/watch/emb1" width="640" height="360" allow="autoplay; fullscreen" allowfullscreen style="border:0"></iframe>`);
  });
  await new Promise((r) => site.listen(port, '127.0.0.1', r));
  try {
    const pub = await startPublisher(browser, server, 'emb1');
    const context = await viewerContext();
    const page = await context.newPage();
    await page.goto(`http://localhost:${port}/`);
    const frame = await waitFor(() => page.frames().find((f) => f.url() === `${server.url}/watch/emb1`), { what: 'the iframe' });
    await frame.waitForLoadState();
    assert.notEqual(new URL(page.url()).origin, new URL(frame.url()).origin);
    await expectPlaying(frame, 'embedded');
    await frame.click('#unmute');
    assert.equal((await video(frame)).muted, false);
    await screenshot(page, 'embedded');
    await pub.evaluate(() => window.pub.stop());
    await waitFor(async () => (await state(frame)) === 'ended', { timeout: 10000, what: 'ended in the iframe' });
    await context.close();
    await pub.close();
  } finally {
    site.close();
  }
});

test('/watch/{name} is the page for valid names, embeddable, and 404 otherwise', async () => {
  const ok = await fetch(`${server.url}/watch/Some_name-1`);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type'), /^text\/html/);
  assert.match(await ok.text(), /watch\.js/);
  assert.equal(ok.headers.get('x-frame-options'), null, 'no X-Frame-Options');
  assert.ok(!/frame-ancestors/.test(ok.headers.get('content-security-policy') || ''), 'no frame-ancestors');
  assert.equal((await fetch(`${server.url}/watch/${'a'.repeat(64)}`)).status, 200);
  assert.equal((await fetch(`${server.url}/watch/x`, { method: 'HEAD' })).status, 200);
  assert.equal((await fetch(`${server.url}/watch/x`, { method: 'POST' })).status, 405);
  for (const bad of ['', 'a.b', 'a/b', `${'a'.repeat(65)}`, 'a%20b', '..%2Fapp.js', 'x/']) {
    assert.equal((await fetch(`${server.url}/watch/${bad}`)).status, 404, `/watch/${bad}`);
  }
  assert.equal((await fetch(`${server.url}/watch`)).status, 404);
});

test('the main page lists live streams with viewers, watch page and embed code, and searches recordings', async () => {
  const pub = await startPublisher(browser, server, 'listed1');
  const viewer = await openWatchPage('listed1');
  await expectPlaying(viewer, 'the viewer of listed1');

  const context = await viewerContext(['clipboard-read', 'clipboard-write']);
  const main = await openPage(context, server);
  const item = main.locator('#live-list li[data-stream="listed1"]');
  await item.waitFor({ timeout: 10000 });
  await waitFor(async () => (await item.locator('.viewers').textContent()) === '1 watching', { timeout: 10000, what: 'viewer count' });
  await waitFor(async () => /\d+(\.\d)? [kM]bit\/s/.test(await item.locator('.bitrate').textContent()), { what: 'bitrate' });
  const live = (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams.find((s) => s.name === 'listed1');
  assert.ok(live.bitrate_bps > 50_000, `bitrate_bps ${live.bitrate_bps}`);
  assert.equal(await item.locator('a.watch-page').getAttribute('href'), `${server.url}/watch/listed1`);
  const code = await item.locator('.embed-code').inputValue();
  assert.ok(code.startsWith(`<iframe src="${server.url}/watch/listed1"`), code);
  assert.match(code, /allow="autoplay/);
  await item.locator('button.copy').click();
  await waitFor(async () => (await item.locator('button.copy').textContent()) === 'Copied', { what: 'Copied' });
  assert.equal(await main.evaluate(() => navigator.clipboard.readText()), code);
  // The existing Watch button still plays it in the page.
  await item.locator('button.watch').click();
  await main.waitForFunction(() => {
    const v = document.querySelector('#players video');
    return v && v.videoWidth > 0 && v.currentTime > 0.3;
  }, null, { timeout: 15000 });
  await waitFor(async () => (await item.locator('.viewers').textContent()) === '2 watching', { timeout: 10000, what: '2 watching' });
  await screenshot(main, 'main-live');

  // Stops: gone from the list; its recording can be found by name.
  await pub.evaluate(() => window.pub.stop());
  await item.waitFor({ state: 'detached', timeout: 10000 });
  await waitFor(async () => (await (await fetch(`${server.url}/api/clips?stream=listed1`)).json()).clips.length > 0,
    { timeout: 20000, interval: 500, what: 'a clip of listed1' });
  await main.fill('#rec-search', 'listed');
  const rows = main.locator('#clip-list li[data-stream]');
  await waitFor(async () => {
    const names = await rows.evaluateAll((lis) => lis.map((li) => li.dataset.stream));
    return names.length > 0 && names.every((n) => n === 'listed1');
  }, { timeout: 10000, what: 'only listed1 clips' });
  assert.match(await main.textContent('#rec-status'), /clips? of streams named like "listed"/);
  const first = rows.first();
  const href = await first.locator('a.clip-link').getAttribute('href');
  assert.equal(await first.locator('a.clip-download').getAttribute('href'), href);
  assert.ok(await first.locator('a.clip-download').getAttribute('download'));
  const file = await fetch(new URL(href, server.url));
  assert.equal(file.status, 200);
  assert.match(file.headers.get('content-type'), /^video\//);
  await first.locator('a.clip-link').click();
  await main.waitForFunction(() => {
    const v = document.querySelector('#clip-player');
    return !v.hidden && v.videoWidth > 0 && v.currentTime > 0.2;
  }, null, { timeout: 15000 });
  await screenshot(main, 'main-recordings');

  // An exact name finds that stream's clips (other streams have clips too).
  await main.fill('#rec-search', 'show1');
  await waitFor(async () => {
    const names = await rows.evaluateAll((lis) => lis.map((li) => li.dataset.stream));
    return names.length > 0 && names.every((n) => n === 'show1');
  }, { timeout: 10000, what: 'only show1 clips' });
  await main.fill('#rec-search', 'no-such-stream');
  await main.locator('#clip-list li.empty', { hasText: 'No clips found' }).waitFor({ timeout: 10000 });
  await main.fill('#rec-search', '');
  await waitFor(async () => new Set(await rows.evaluateAll((lis) => lis.map((li) => li.dataset.stream))).size >= 2,
    { timeout: 10000, what: 'all streams again' });

  await viewer.close();
  await context.close();
  await pub.close();
});
