// SIGHUP reloads what can change without dropping anyone: LOG_LEVEL and the
// webhooks, from CONFIG_FILE (an env file). A publisher stays connected
// through it; a bad file changes nothing; settings that need a restart are
// named.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { publisherVideo, startPublisher } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('SIGHUP: LOG_LEVEL and WEBHOOK_URLS from CONFIG_FILE change while a publisher stays on', { timeout: 90000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-reload-'));
  const file = path.join(dir, 'lss.env');
  fs.writeFileSync(file, '# settings\nLOG_LEVEL=info\n');
  const hooks = await startReceiver();
  // The environment says debug; the file wins.
  const server = await startServer({ CONFIG_FILE: file, LOG_LEVEL: 'debug' });
  let pub;
  try {
    pub = await startPublisher(browser, server, 'reloadcam', 'VP8');
    await waitFor(async () => ((await publisherVideo(pub))?.frames || 0) > 30, { what: 'the publisher to send' });
    assert.doesNotMatch(server.log(), / debug \[/, 'debug lines at LOG_LEVEL=info');

    fs.writeFileSync(file, `LOG_LEVEL=debug\nWEBHOOK_URLS=${hooks.url}\nWEBHOOK_SECRET=reload-secret\nPORT=1\n`);
    server.child.kill('SIGHUP');
    await waitFor(() => server.log().includes('SIGHUP: LOG_LEVEL info -> debug'), { timeout: 5000, what: 'the log level to change' });
    assert.match(server.log(), /SIGHUP: webhooks now to 1 receiver/);
    assert.match(server.log(), /SIGHUP: PORT changed in .*takes effect at the next start/);
    await waitFor(() => / debug \[/.test(server.log()), { timeout: 10000, what: 'debug lines after the reload' });

    // The new receiver hears of the next stream; the first publisher is still on.
    const second = await startPublisher(browser, server, 'reloadcam2', 'VP8');
    await waitFor(() => hooks.accepted().some((e) => e.type === 'stream.started' && e.data.name === 'reloadcam2'),
      { timeout: 15000, what: 'stream.started at the receiver added by SIGHUP' });
    const frames = (await publisherVideo(pub)).frames;
    await sleep(1000);
    assert.ok((await publisherVideo(pub)).frames > frames, 'the first publisher keeps sending');
    const streams = (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams.map((s) => s.name);
    assert.ok(streams.includes('reloadcam'), `live: ${streams}`);

    // A bad file changes nothing.
    fs.writeFileSync(file, 'LOG_LEVEL=loud\n');
    server.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: invalid LOG_LEVEL.*nothing changed/.test(server.log()), { timeout: 5000, what: 'the bad file to be refused' });
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);

    // Webhooks off again.
    fs.writeFileSync(file, 'LOG_LEVEL=debug\nWEBHOOK_URLS=\n');
    server.child.kill('SIGHUP');
    await waitFor(() => server.log().includes(`no longer delivering to ${hooks.url}`), { timeout: 5000, what: 'the receiver to be dropped' });
    const seen = hooks.accepted().length;
    await second.evaluate(() => window.pub.stop());
    await sleep(2000);
    assert.equal(hooks.accepted().length, seen, 'no events after the receiver was dropped');
    await second.close();
  } finally {
    await pub?.close().catch(() => {});
    await server.stop();
    await hooks.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
