// Recording end to end: a browser publishes, clips are cut by length or size,
// every clip is playable, frames add up, and a kill -9 loses under a second.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startPublisher } from './lib/media.mjs';
import { decodeErrors, probe } from './lib/probe.mjs';
import { startServer } from './lib/server.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function clipsOf(server, name) {
  const res = await fetch(`${server.url}/api/clips?stream=${name}`);
  assert.equal(res.status, 200);
  return (await res.json()).clips;
}

async function framesSent(page) {
  return page.evaluate(async () => {
    let n = 0;
    (await window.pub.pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') n = s.framesSent; });
    return n;
  });
}

for (const codec of ['VP8', 'H264']) {
  test(`${codec}: CLIP_LENGTH=4 over ~14 s gives playable clips that add up`, async () => {
    const server = await startServer({ CLIP_LENGTH: '4' });
    try {
      const name = `rec-${codec}`;
      const publisher = await startPublisher(browser, server, name, codec);
      await sleep(14000);
      const sent = await framesSent(publisher);
      await publisher.evaluate(() => window.pub.stop());
      const ext = codec === 'H264' ? '.mkv' : '.webm';
      let clips = [];
      await waitFor(async () => {
        clips = await clipsOf(server, name);
        const streams = (await (await fetch(`${server.url}/api/streams?status=ended`)).json()).streams;
        return streams.length === 1 && clips.length === streams[0].clip_count && clips.length >= 3;
      }, { timeout: 15000, what: 'clips in the catalog' });
      assert.ok(clips.length >= 3, `${clips.length} clips`);
      let frames = 0;
      clips.sort((a, b) => a.index - b.index);
      for (const [i, c] of clips.entries()) {
        assert.equal(c.index, i);
        assert.ok(c.object_key.startsWith(`${name}/`), c.object_key);
        assert.ok(c.object_key.endsWith(ext), c.object_key);
        assert.equal(c.video_codec, codec);
        assert.equal(c.audio_codec, 'opus');
        // The clip is served at its URL, and it plays.
        const res = await fetch(`${server.url}${c.url}`);
        assert.equal(res.status, 200);
        const file = path.join(server.dataDir, `clip-${i}${ext}`);
        fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
        const p = probe(file);
        assert.equal(p.videoCodec, codec.toLowerCase());
        assert.equal(p.audioCodec, 'opus');
        assert.ok(p.width > 0 && p.height > 0);
        assert.ok(p.videoFrames > 0 && p.audioFrames > 0);
        if (i < clips.length - 1) assert.ok(Math.abs(p.duration - 4) < 1.2, `clip ${i} lasts ${p.duration} s`);
        assert.ok(Math.abs(p.duration - c.duration) < 0.5);
        frames += p.videoFrames;
      }
      // Every frame the publisher sent is in exactly one clip (a frame or two
      // may be in flight when the publisher stops).
      assert.ok(Math.abs(frames - sent) <= 3, `clips hold ${frames} frames, publisher sent ${sent}`);
    } finally {
      await server.stop();
    }
  });
}

test('CLIP_SIZE cuts on bytes', async () => {
  const server = await startServer({ CLIP_SIZE: '0.25' });
  try {
    const publisher = await startPublisher(browser, server, 'bysize', 'VP8');
    await sleep(12000);
    await publisher.evaluate(() => window.pub.stop());
    let clips = [];
    await waitFor(async () => (clips = await clipsOf(server, 'bysize')).length >= 2, { timeout: 15000, what: 'clips' });
    for (const c of clips.slice(0, -1)) {
      assert.ok(c.bytes >= 250000, `clip ${c.index} has ${c.bytes} bytes`);
      assert.ok(c.bytes < 1000000, `clip ${c.index} has ${c.bytes} bytes`);
    }
  } finally {
    await server.stop();
  }
});

test('a server killed mid-recording recovers all but under 1 s of the clip, decoding cleanly', async () => {
  const first = await startServer({ CLIP_LENGTH: '60' });
  const dataDir = first.dataDir;
  const publisher = await startPublisher(browser, first, 'killed', 'VP8');
  // The recording begins at the first frame; count from when it is sent.
  await waitFor(async () => (await framesSent(publisher)) > 0, { timeout: 10000, interval: 20, what: 'the first frame' });
  const firstFrame = Date.now();
  await sleep(9000);
  const published = (Date.now() - firstFrame) / 1000;
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  await publisher.close();
  const second = await startServer({ DATA_DIR: dataDir, CLIP_LENGTH: '60' });
  try {
    let clips = [];
    await waitFor(async () => (clips = await clipsOf(second, 'killed')).length === 1, { timeout: 15000, what: 'recovered clip' });
    const res = await fetch(`${second.url}${clips[0].url}`);
    assert.equal(res.status, 200);
    const file = path.join(dataDir, 'recovered.webm');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const p = probe(file);
    assert.equal(p.videoCodec, 'vp8');
    assert.equal(p.audioCodec, 'opus');
    console.log(`# published ${published.toFixed(2)} s, recovered ${p.duration.toFixed(2)} s, lost ${(published - p.duration).toFixed(2)} s`);
    // ffprobe's duration is the container's (the remux wrote one).
    assert.ok(Number.isFinite(p.duration), 'no duration');
    assert.ok(Math.abs(published - p.duration) <= 1, `published ${published} s, recovered ${p.duration} s`);
    assert.equal(decodeErrors(file), '');
    const streams = (await (await fetch(`${second.url}/api/streams`)).json()).streams;
    assert.equal(streams[0].status, 'ended');  // no longer "live" after the crash
  } finally {
    await second.stop();
  }
});
