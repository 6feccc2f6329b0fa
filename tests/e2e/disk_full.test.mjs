// The spool on a full filesystem: a small tmpfs mounted at DATA_DIR/spool is
// filled while a browser publishes. Viewers keep watching, the recording
// pauses (one log line, lss_recording_paused 1), resumes with a new clip
// when space returns, and every clip around the gap decodes cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { decodeErrors, probe } from './lib/probe.mjs';
import { startServer } from './lib/server.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

async function clipsOf(server, name) {
  const res = await fetch(`${server.url}/api/clips?stream=${name}`);
  assert.equal(res.status, 200);
  return (await res.json()).clips.sort((a, b) => a.index - b.index);
}

const count = (text, what) => text.split('\n').filter((l) => l.includes(what)).length;

// Writes zeros until the filesystem is full (dd stops at ENOSPC).
function fill(file) {
  spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=64k', 'oflag=append', 'conv=notrunc'], { stdio: 'ignore' });
}

test('a full spool pauses the recording, not the stream; it resumes when space returns', { timeout: 180000 }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-full-'));
  const spool = path.join(dataDir, 'spool');
  fs.mkdirSync(spool);
  // The test namespace shares the host's mounts: this one is ours alone
  // (a private temp folder) and goes in `finally`.
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', spool], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs (not root?): ${mounted.stderr.trim()}`);
    return;
  }
  let server;
  let topUp;
  const filler = path.join(spool, 'filler');
  try {
    server = await startServer({ DATA_DIR: dataDir, CLIP_LENGTH: '4' });
    const name = 'full';
    const publisher = await startPublisher(browser, server, name, 'VP8');
    const viewer = await startViewer(browser, server, name);
    await expectDecoding(viewer, publisher);
    await waitFor(async () => (await clipsOf(server, name)).length >= 1, { timeout: 15000, what: 'a first clip' });

    // Fill the spool, and keep it full: the uploader moving clips out of it
    // must not give the space back before the test does.
    fill(filler);
    topUp = setInterval(() => fill(filler), 250);
    const pausedLine = `recording of stream '${name}' paused: no space left on device (${spool})`;
    await waitFor(() => server.log().includes(pausedLine), { timeout: 10000, what: 'the pause line' });
    assert.equal(await metric(server, 'lss_recording_paused'), 1);
    assert.ok(await metric(server, 'lss_recording_write_errors_total') >= 1);
    const clipsBefore = (await clipsOf(server, name)).length;

    // Viewers see nothing of it.
    const decoded = (await viewerStats(viewer)).framesDecoded;
    await sleep(6000);
    assert.ok((await viewerStats(viewer)).framesDecoded > decoded + 60, 'the viewer keeps decoding');
    assert.equal(count(server.log(), 'paused: '), 1, 'one line for the pause, not one a frame');
    assert.equal(await metric(server, 'lss_recording_paused'), 1);
    assert.ok(await metric(server, 'lss_recording_frames_not_recorded_total') > 100);
    assert.ok(await metric(server, 'lss_recording_write_errors_total') <= 12, 'retries once a second');

    // Space returns: the cut clip is finished, a new one starts.
    clearInterval(topUp);
    topUp = null;
    fs.rmSync(filler);
    await waitFor(() => server.log().includes(`recording of stream '${name}' resumed`), { timeout: 10000, what: 'the resume line' });
    assert.equal(await metric(server, 'lss_recording_paused'), 0);
    // The cut clip is published up to its last whole frame on disk, or
    // dropped (one line) when none reached it; the next one takes its number.
    await waitFor(async () => (await clipsOf(server, name)).length >= clipsBefore + 1, { timeout: 15000, what: 'a clip around the gap' });
    await sleep(3000);
    await publisher.evaluate(() => window.pub.stop());

    let clips = [];
    await waitFor(async () => {
      clips = await clipsOf(server, name);
      const streams = (await (await fetch(`${server.url}/api/streams?status=ended`)).json()).streams;
      return streams.length === 1 && clips.length === streams[0].clip_count;
    }, { timeout: 15000, what: 'every clip in the catalog' });
    assert.equal(count(server.log(), 'paused: '), 1);
    assert.equal(count(server.log(), 'resumed'), 1);
    for (const [i, c] of clips.entries()) {
      assert.equal(c.index, i, 'clip indexes have no hole');
      const file = path.join(dataDir, `clip-${i}.webm`);
      const res = await fetch(`${server.url}${c.url}`);
      assert.equal(res.status, 200);
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      assert.equal(decodeErrors(file), '', `clip ${i} decodes cleanly`);
      const p = probe(file);
      assert.ok(p.videoFrames > 0 && p.audioFrames > 0, `clip ${i}: ${JSON.stringify(p)}`);
    }
    assert.equal(server.child.exitCode, null, 'the server is still up');
    assert.equal(fs.readdirSync(spool, { recursive: true }).filter((f) => f.endsWith('.part')).length, 0);
  } finally {
    if (topUp) clearInterval(topUp);
    await server?.stop();
    spawnSync('umount', ['-l', spool]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
