// Webhooks end to end: a Node receiver on loopback gets every event of a
// published and watched stream, signed and in order; a receiver that fails
// at first still gets everything after retries; and events queued for a
// receiver that is down survive a SIGKILL of the server.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer } from './lib/media.mjs';
import { freeTcpPort, startServer } from './lib/server.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';

const SECRET = 'webhook-test-secret';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

// The README's check.
function signatureValid(r) {
  const expected = Buffer.from(`sha256=${crypto.createHmac('sha256', SECRET).update(r.raw).digest('hex')}`);
  const got = Buffer.from(r.headers['x-signature'] || '');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

function checkEnvelopes(requests) {
  for (const r of requests) {
    assert.ok(signatureValid(r), `bad signature on ${r.raw}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(r.event), ['id', 'type', 'timestamp', 'data']);
    assert.match(r.event.id, /^[0-9a-f]{32}$/);
    assert.match(r.event.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
}

// The events of one stream id: started first, clips in index order, ended
// once. Clips still being stored when the stream ends (usually only the last;
// more when the store is slow) are announced after stream.ended, so where
// stream.ended falls among the clips is not checked.
function checkStreamOrder(events, streamId) {
  const mine = events.filter((e) => (e.type.startsWith('clip.') ? e.data.stream_id : e.type.startsWith('viewer.') ? e.data.stream_id : e.data.id) === streamId);
  const types = mine.map((e) => e.type);
  assert.equal(types[0], 'stream.started', types.join(', '));
  assert.equal(types.filter((t) => t === 'stream.started').length, 1, types.join(', '));
  assert.equal(types.filter((t) => t === 'stream.ended').length, 1, types.join(', '));
  const clips = mine.filter((e) => e.type === 'clip.stored').map((e) => e.data.index);
  assert.deepEqual(clips, clips.map((_, i) => i), `clip order ${clips}`);
  return mine;
}

async function clipsOf(server, name) {
  return (await (await fetch(`${server.url}/api/clips?stream=${name}`)).json()).clips;
}

async function endedStream(server) {
  const streams = (await (await fetch(`${server.url}/api/streams?status=ended`)).json()).streams;
  return streams.length === 1 ? streams[0] : null;
}

test('publish + watch: started, joined, clips, left, ended, signed and in order', async () => {
  const receiver = await startReceiver();
  const server = await startServer({ CLIP_LENGTH: '2', WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET });
  try {
    const publisher = await startPublisher(browser, server, 'hooked', 'VP8');
    const viewer = await startViewer(browser, server, 'hooked');
    await expectDecoding(viewer, publisher);
    await sleep(3000);
    const viewerSession = await viewer.evaluate(() => String(window.view.location).split('/').pop());
    await viewer.evaluate(() => window.view.stop());
    await sleep(500);
    await publisher.evaluate(() => window.pub.stop());
    let stream = null;
    await waitFor(async () => {
      stream = await endedStream(server);
      const got = receiver.accepted();
      return stream && got.filter((e) => e.type === 'clip.stored').length === stream.clip_count &&
        got.some((e) => e.type === 'stream.ended');
    }, { timeout: 20000, what: 'every event' });
    assert.ok(stream.clip_count >= 1, `${stream.clip_count} clips`);
    checkEnvelopes(receiver.requests);
    const events = receiver.accepted();
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
    const mine = checkStreamOrder(events, stream.id);
    const types = mine.map((e) => e.type);
    const at = (t) => types.indexOf(t);
    assert.ok(at('viewer.joined') > at('stream.started'), types.join(', '));
    assert.ok(at('viewer.left') > at('viewer.joined'), types.join(', '));
    assert.ok(at('stream.ended') > at('viewer.left'), types.join(', '));

    // Each event's data is what the REST API says of the same stream or clip.
    const started = mine[0].data;
    assert.equal(started.name, 'hooked');
    assert.equal(started.status, 'live');
    assert.equal(started.video_codec, 'VP8');
    const ended = mine[at('stream.ended')].data;
    const api = await (await fetch(`${server.url}/api/streams/${stream.id}`)).json();
    assert.equal(ended.status, 'ended');
    assert.equal(ended.name, api.name);
    assert.equal(ended.started_at, api.started_at);
    assert.ok(Array.isArray(ended.clips));
    const apiClips = await clipsOf(server, 'hooked');
    for (const e of mine.filter((x) => x.type === 'clip.stored')) {
      assert.deepEqual(e.data, apiClips.find((c) => c.index === e.data.index));
    }
    const joined = mine[at('viewer.joined')].data;
    assert.deepEqual(joined, mine[at('viewer.left')].data);
    assert.equal(joined.stream, 'hooked');
    assert.equal(joined.stream_id, stream.id);
    assert.equal(joined.session_id, viewerSession);
    assert.match(joined.remote_address, /^127\.0\.0\.1:\d+$/);
    await publisher.close();
    await viewer.close();
  } finally {
    await server.stop();
    await receiver.close();
  }
});

test('a receiver answering 500 at first gets every event after retries, in order', async () => {
  const receiver = await startReceiver({ failFirst: 3 });
  const server = await startServer({
    CLIP_LENGTH: '2', WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_VIEWER_EVENTS: 'false',
  });
  try {
    const publisher = await startPublisher(browser, server, 'retried', 'VP8');
    const viewer = await startViewer(browser, server, 'retried');
    await sleep(5000);
    await viewer.evaluate(() => window.view.stop());
    await publisher.evaluate(() => window.pub.stop());
    let stream = null;
    await waitFor(async () => {
      stream = await endedStream(server);
      const got = receiver.accepted();
      return stream && got.filter((e) => e.type === 'clip.stored').length === stream.clip_count &&
        got.some((e) => e.type === 'stream.ended');
    }, { timeout: 30000, what: 'every event after the retries' });
    checkEnvelopes(receiver.requests);
    // The failed requests were the first event, tried again with the same id.
    const failed = receiver.requests.filter((r) => r.status === 500).map((r) => r.event);
    assert.equal(failed.length, 3);
    assert.ok(failed.every((e) => e.id === failed[0].id && e.type === 'stream.started'),
      `the refused requests: ${failed.map((e) => `${e.type} ${e.id}`).join(', ')}`);
    const events = receiver.accepted();
    assert.equal(events[0].id, failed[0].id);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no duplicates');
    assert.ok(!events.some((e) => e.type.startsWith('viewer.')), 'WEBHOOK_VIEWER_EVENTS=false');
    checkStreamOrder(events, stream.id);
    assert.match(server.log(), /not delivered \(HTTP 500\)/);
    await publisher.close();
    await viewer.close();
  } finally {
    await server.stop();
    await receiver.close();
  }
});

test('events queued for a receiver that is down survive SIGKILL and go out after restart', async () => {
  const port = await freeTcpPort();  // nothing listens here until the restart
  const url = `http://127.0.0.1:${port}/hook`;
  const env = { CLIP_LENGTH: '2', WEBHOOK_URLS: url, WEBHOOK_SECRET: SECRET };
  const first = await startServer(env);
  const dataDir = first.dataDir;
  let second;
  let receiver;
  try {
    const publisher = await startPublisher(browser, first, 'durable', 'VP8');
    await sleep(5000);
    await publisher.evaluate(() => window.pub.stop());
    await publisher.close();
    // Everything is queued on disk before the kill.
    const queueRoot = path.join(dataDir, 'webhooks');
    const queued = () => fs.readdirSync(queueRoot).flatMap((d) => fs.readdirSync(path.join(queueRoot, d))
      .filter((f) => /^\d{20}\.json$/.test(f))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(queueRoot, d, f)))));
    let stream = null;
    await waitFor(async () => {
      stream = await endedStream(first);
      return stream && stream.clip_count >= 1 && queued().some((e) => e.type === 'stream.ended') &&
        queued().filter((e) => e.type === 'clip.stored').length === stream.clip_count;
    }, { timeout: 20000, what: 'the events in the queue' });
    const queuedAtKill = queued();
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    receiver = await startReceiver({ port });
    second = await startServer({ ...env, DATA_DIR: dataDir });
    await waitFor(() => receiver.accepted().length >= queuedAtKill.length, { timeout: 15000, what: 'the queued events' });
    checkEnvelopes(receiver.requests);
    const events = receiver.accepted();
    assert.deepEqual(events.slice(0, queuedAtKill.length).map((e) => e.id), queuedAtKill.map((e) => e.id));
    // A clip still in the spool at the kill is stored (and announced) now.
    await waitFor(async () => receiver.accepted().filter((e) => e.type === 'clip.stored').length ===
      (await endedStream(second)).clip_count, { timeout: 15000, what: 'every clip.stored' });
    checkStreamOrder(receiver.accepted(), stream.id);
    // Delivered events leave the queue.
    await waitFor(() => queued().length === 0, { timeout: 5000, what: 'an empty queue' });
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
    await second?.stop();
    await receiver?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
