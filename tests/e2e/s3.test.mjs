// Clips land in S3-compatible storage (s3rver on loopback), also across an outage.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startPublisher } from './lib/media.mjs';
import { startS3 } from './lib/s3.mjs';
import { startServer } from './lib/server.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const s3env = (s3) => ({
  S3_ENDPOINT: s3.url, S3_BUCKET: 'clips', REGION: 'us-east-1',
  STORJ_SECRET_ACCESS_ID: 'S3RVER', STORJ_SECRET_ACCESS_KEY: 'S3RVER', CLIP_LENGTH: '3',
});

test('clips are uploaded to the bucket and catalogued with their URLs', async () => {
  const s3 = await startS3('clips');
  const server = await startServer({ ...s3env(s3), FILE_HOST: 'https://files.example.com/clips' });
  try {
    const publisher = await startPublisher(browser, server, 's3cam', 'VP8');
    await sleep(8000);
    await publisher.evaluate(() => window.pub.stop());
    let clips = [];
    await waitFor(async () => {
      clips = (await (await fetch(`${server.url}/api/clips?stream=s3cam`)).json()).clips;
      return clips.length >= 2 && (await s3.keys()).length === clips.length;
    }, { timeout: 20000, what: 'clips in the bucket' });
    const keys = await s3.keys();
    for (const c of clips) {
      assert.ok(keys.includes(c.object_key), c.object_key);
      assert.equal(c.url, `https://files.example.com/clips/${c.object_key}`);
      const obj = await fetch(`${s3.url}/clips/${c.object_key}`);
      assert.equal(obj.status, 200);
      assert.equal((await obj.arrayBuffer()).byteLength, c.bytes);
    }
  } finally {
    await server.stop();
    await s3.stop();
  }
});

test('big clips go up as multipart uploads', async () => {
  const s3 = await startS3('clips');
  // Tiny thresholds so a few seconds of video make a many-part upload.
  const server = await startServer({ ...s3env(s3), CLIP_LENGTH: '4', S3_MULTIPART_MB: '0.05', S3_PART_MB: '0.05' });
  try {
    const publisher = await startPublisher(browser, server, 'multi', 'VP8');
    await sleep(5000);
    await publisher.evaluate(() => window.pub.stop());
    let clips = [];
    await waitFor(async () => (clips = (await (await fetch(`${server.url}/api/clips?stream=multi`)).json()).clips).length >= 1,
      { timeout: 20000, what: 'a clip' });
    const parts = [...server.log().matchAll(/s3: (\S+) uploaded in (\d+) parts/g)];
    assert.ok(parts.length >= 1, 'multipart upload logged');
    assert.ok(Number(parts[0][2]) >= 2, `${parts[0][2]} parts`);
    const c = clips.find((x) => x.object_key === parts[0][1]);
    assert.ok(c, 'the multipart object is the catalogued clip');
    const obj = await fetch(`${s3.url}/clips/${c.object_key}`);
    assert.equal((await obj.arrayBuffer()).byteLength, c.bytes);  // the parts joined in order
  } finally {
    await server.stop();
    await s3.stop();
  }
});

test('an S3 outage during recording loses no clip', async () => {
  const s3 = await startS3('clips');
  const { port, dir } = s3;
  const server = await startServer(s3env(s3));
  try {
    await s3.stop();  // storage goes away before the first clip is done
    const publisher = await startPublisher(browser, server, 'outage', 'VP8');
    await sleep(8000);
    await publisher.evaluate(() => window.pub.stop());
    await sleep(1000);
    let clips = (await (await fetch(`${server.url}/api/clips?stream=outage`)).json()).clips;
    assert.equal(clips.length, 0, 'nothing is catalogued before it is stored');
    const back = await startS3('clips', port, dir);  // storage is back
    try {
      // Done when the spool (the upload queue) holds no clip any more.
      const queued = () => fs.readdirSync(path.join(server.dataDir, 'spool'), { recursive: true })
        .filter((f) => String(f).endsWith('.json')).length;
      await waitFor(async () => {
        clips = (await (await fetch(`${server.url}/api/clips?stream=outage`)).json()).clips;
        return clips.length >= 2 && queued() === 0;
      }, { timeout: 60000, interval: 500, what: 'clips after the outage' });
      // Every recorded index arrived: 0, 1, 2, ...
      const indexes = clips.map((c) => c.index).sort((a, b) => a - b);
      assert.deepEqual(indexes, [...indexes.keys()]);
      const keys = await back.keys();
      for (const c of clips) assert.ok(keys.includes(c.object_key));
    } finally {
      await back.stop();
    }
  } finally {
    await server.stop();
  }
});
