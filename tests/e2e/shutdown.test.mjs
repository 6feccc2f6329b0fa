// Graceful restarts: the first SIGTERM drains (new sessions get 503 with
// Retry-After while the process still runs, peers are closed, the clip in
// progress is finished into the spool and uploaded for up to
// SHUTDOWN_GRACE seconds, exit 0); a second SIGTERM exits at once; what
// could not be uploaded is stored by the next start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openPage, sleep, waitFor } from './lib/browser.mjs';
import { startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { freeTcpPort, startServer } from './lib/server.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function clipsOf(server, name) {
  const res = await fetch(`${server.url}/api/clips?stream=${name}`);
  return (await res.json()).clips;
}

// An S3 endpoint that refuses every connection: uploads fail, clips stay in the spool.
async function deadS3() {
  const port = await freeTcpPort();
  return { S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' };
}

async function offerFrom(page) {
  return page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const sdp = pc.localDescription.sdp;
    pc.close();
    return sdp;
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

test('SIGTERM: 503 for new sessions while draining, peers closed, the clip spooled; the next start stores it', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-drain-'));
  try {
    const s = await startServer({ DATA_DIR: dataDir, CLIP_LENGTH: '60', SHUTDOWN_GRACE: '4', ...(await deadS3()) });
    const publisher = await startPublisher(browser, s, 'drain', 'VP8');
    const viewer = await startViewer(browser, s, 'drain');
    await waitFor(async () => (await viewerStats(viewer)).framesDecoded > 30, { timeout: 20000, what: 'the viewer to play' });
    const offer = await offerFrom(viewer);
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const done = exited(s.child);
    // Still running, refusing new sessions with a hint to come back.
    await waitFor(async () => {
      const r = await fetch(`${s.url}/whep/drain`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      return r.status === 503 && r.headers.get('retry-after') ? r : null;
    }, { timeout: 2000, interval: 50, what: '503 with Retry-After while draining' });
    const r = await fetch(`${s.url}/whip/another`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'the process still serves while draining');
    // Both peers are told (DTLS close), not left to time out.
    // (Chromium: the DTLS transport goes to "closed" on close_notify.)
    const closed = (page, which) => page.evaluate((which) => {
      const pc = window[which].pc;
      const dtls = pc.getReceivers().concat(pc.getSenders()).map((x) => x.transport).find((t) => t);
      return pc.connectionState !== 'connected' || (dtls && dtls.state === 'closed');
    }, which);
    await waitFor(() => closed(publisher, 'pub'), { timeout: 3000, what: 'the publisher to see the session closed' });
    await waitFor(() => closed(viewer, 'view'), { timeout: 3000, what: 'the viewer to see the session closed' });
    const { code } = await done;
    const took = Date.now() - t0;
    console.log(`exited ${code} after ${took} ms (SHUTDOWN_GRACE=4, storage down)`);
    assert.equal(code, 0);
    assert.ok(took >= 3500, `exited after ${took} ms, before SHUTDOWN_GRACE`);
    assert.ok(took < 12000, `took ${took} ms`);
    assert.match(s.log(), /SHUTDOWN_GRACE reached with 1 clip/);
    const spooled = fs.readdirSync(path.join(dataDir, 'spool'), { recursive: true }).filter((f) => f.endsWith('.json'));
    assert.equal(spooled.length, 1, `spool: ${spooled}`);

    // The next start, with storage back (the local folder), stores it.
    const again = await startServer({ DATA_DIR: dataDir, CLIP_LENGTH: '60' });
    try {
      let clips = [];
      await waitFor(async () => (clips = await clipsOf(again, 'drain')).length === 1, { timeout: 15000, what: 'the spooled clip stored' });
      assert.ok(clips[0].duration > 1, JSON.stringify(clips[0]));
    } finally {
      await again.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('SIGTERM with storage up: the clip in progress is stored before the process exits', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-drain-'));
  try {
    const s = await startServer({ DATA_DIR: dataDir, CLIP_LENGTH: '60', SHUTDOWN_GRACE: '20' });
    const publisher = await startPublisher(browser, s, 'stored', 'VP8');
    await sleep(4000);
    s.child.kill('SIGTERM');
    const { code } = await exited(s.child);
    assert.equal(code, 0);
    assert.match(s.log(), /shutdown: spool empty/);
    await publisher.close();
    const again = await startServer({ DATA_DIR: dataDir });
    try {
      const clips = await clipsOf(again, 'stored');
      assert.equal(clips.length, 1, 'stored before the exit, not at the next start');
    } finally {
      await again.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a second SIGTERM exits at once', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-drain-'));
  try {
    const s = await startServer({ DATA_DIR: dataDir, CLIP_LENGTH: '60', SHUTDOWN_GRACE: '60', ...(await deadS3()) });
    const publisher = await startPublisher(browser, s, 'twice', 'VP8');
    await sleep(3000);
    s.child.kill('SIGTERM');
    await sleep(800);
    assert.equal(s.child.exitCode, null, 'still draining after the first SIGTERM');
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const { code } = await exited(s.child);
    const took = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(took < 3000, `took ${took} ms after the second SIGTERM`);
    assert.match(s.log(), /received again: stopping now/);
    await publisher.close();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
