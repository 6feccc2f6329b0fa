// The original app's flow against the real `peer` server, `peerjs` client and
// `socket.io-client`: the app asks for a stream over Socket.IO, the server
// calls the streamer over PeerJS, PeerJS and WHEP viewers watch.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startViewer, viewerStats } from './lib/media.mjs';
import { expectPeerViewerDecoding, peerViewerStats, startPeerServer, startPeerStreamer, startPeerViewer } from './lib/peerjs.mjs';
import { startServer } from './lib/server.mjs';

let peerServer, server, browser;
before(async () => {
  peerServer = await startPeerServer();
  // A long consent timeout: hang-ups must be noticed through the data channel.
  server = await startServer({ STREAM_KEY: 'app-key', CLIP_LENGTH: '3', CONSENT_TIMEOUT: '120', PEER_HOST: '127.0.0.1', PEER_PORT: String(peerServer.port) });
  browser = await launchBrowser();
});
after(async () => {
  if (process.env.LSS_E2E_LOGS) console.log(server?.log());
  await browser?.close();
  await server?.stop();
  await peerServer?.stop();
});

async function connectApp(opts = {}) {
  const app = io(server.url, { reconnection: false, timeout: 5000, query: { key: 'app-key' }, ...opts });
  await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
  const events = { started: [], clips: [], ended: [], errors: [] };
  app.on('stream-started', (s) => events.started.push(s));
  app.on('clip', (c) => events.clips.push(c));
  app.on('stream-ended', (s) => events.ended.push(s));
  app.on('stream-error', (e) => events.errors.push(e));
  return { app, events };
}

test('start-stream calls a PeerJS streamer; PeerJS and WHEP viewers watch; clips and stream-ended reach the app', { timeout: 120000 }, async () => {
  const { app, events } = await connectApp();
  const streamer = await startPeerStreamer(browser, server, peerServer, 'streamer-one');
  const reply = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'streamer-one', streamId: 'peercam', metadata: { title: 'hello' } });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.equal(reply.streamId, 'peercam');
  assert.ok(reply.viewerPeerId);
  await waitFor(() => events.started.length > 0, { timeout: 15000, what: 'stream-started' });
  assert.equal(events.started[0].streamId, 'peercam');
  assert.equal(events.started[0].viewerPeerId, reply.viewerPeerId);
  // The streamer received the metadata with the call, as PeerJS delivers it.
  assert.deepEqual(await streamer.evaluate(() => window.calls[0].metadata), { title: 'hello' });

  const v1 = await startPeerViewer(browser, server, peerServer, reply.viewerPeerId);
  const v2 = await startPeerViewer(browser, server, peerServer, reply.viewerPeerId);
  const whep = await startViewer(browser, server, 'peercam');
  await expectPeerViewerDecoding(v1);
  await expectPeerViewerDecoding(v2);
  await waitFor(async () => (await viewerStats(whep)).framesDecoded >= 30, { timeout: 15000, what: 'WHEP viewer frames' });
  await waitFor(async () => (await viewerStats(whep)).audioPackets > 20, { timeout: 10000, what: 'WHEP viewer audio' });
  // A PeerJS viewer hangs up: its call's data channel tells the server.
  const liveViewers = async () => {
    const { streams } = await (await fetch(`${server.url}/api/streams?status=live`)).json();
    return streams.find((s) => s.name === 'peercam')?.viewers;
  };
  assert.equal(await liveViewers(), 3);
  await v2.evaluate(() => window.call.close());
  await waitFor(async () => (await liveViewers()) === 2, { timeout: 20000, what: 'the server to drop the viewer that hung up' });
  await waitFor(() => events.clips.length > 0, { timeout: 20000, what: 'a clip event' });
  const clip = events.clips[0];
  assert.equal(clip.streamId, 'peercam');
  const listed = (await (await fetch(`${server.url}/api/clips?stream=peercam`)).json()).clips;
  assert.ok(listed.some((c) => c.url === clip.url), 'the clip is in the catalog');

  // The streamer hangs up its call: the stream ends and the app hears of it.
  await streamer.evaluate(() => window.calls[0].close());
  await waitFor(() => events.ended.length > 0, { timeout: 30000, what: 'stream-ended' });
  assert.equal(events.ended[0].streamId, 'peercam');
  assert.deepEqual(events.errors, []);
  // PeerJS viewers are hung up too.
  await waitFor(async () => (await peerViewerStats(v1)).closed, { timeout: 15000, what: 'the PeerJS viewer call to close' });
  for (const p of [streamer, v1, v2, whep]) await p.close();
  app.close();
});

test('start-stream errors: no such streamer, bad ids, without the key', { timeout: 120000 }, async () => {
  const { app, events } = await connectApp({ transports: ['websocket'] });
  const reply = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'nobody-here', streamId: 'ghost' });
  assert.equal(reply.ok, true);
  await waitFor(() => events.errors.length > 0, { timeout: 20000, what: 'stream-error for a missing streamer' });
  assert.equal(events.errors[0].streamId, 'ghost');
  assert.match(events.errors[0].message, /nobody-here/);
  const bad = await app.timeout(5000).emitWithAck('start-stream', { peerId: 'x', streamId: '../etc' });
  assert.match(bad.error, /streamId/);
  const noPeer = await app.timeout(5000).emitWithAck('start-stream', { streamId: 'a' });
  assert.match(noPeer.error, /peerId/);
  app.close();

  const intruder = io(server.url, { reconnection: false, timeout: 5000, query: { key: 'wrong' } });
  const err = await new Promise((resolve) => intruder.on('connect_error', resolve));
  assert.match(String(err.message), /key/i);
  intruder.close();
});

test('the server re-registers when the PeerJS server restarts; streams outlive the app socket that started them', { timeout: 120000 }, async () => {
  const first = await connectApp();
  const streamer = await startPeerStreamer(browser, server, peerServer, 'streamer-two');
  const reply = await first.app.timeout(10000).emitWithAck('start-stream', { peerId: 'streamer-two', streamId: 'restart' });
  assert.equal(reply.ok, true);
  await waitFor(() => first.events.started.length > 0, { timeout: 15000, what: 'stream-started' });
  // The app's socket goes away; the stream it started goes on.
  first.app.close();
  const { app, events } = await connectApp();
  const port = peerServer.port;
  await peerServer.stop();
  peerServer = await startPeerServer({ port });
  await sleep(3000);  // the server reconnects with backoff
  const viewer = await startPeerViewer(browser, server, peerServer, reply.viewerPeerId);
  await expectPeerViewerDecoding(viewer, { minFrames: 10 });
  const { streams } = await (await fetch(`${server.url}/api/streams?status=live`)).json();
  assert.ok(streams.some((s) => s.name === 'restart'));
  // Another app socket ends it.
  assert.equal((await app.timeout(5000).emitWithAck('end-stream', { streamId: 'restart' })).ok, true);
  await waitFor(() => events.ended.length > 0, { timeout: 15000, what: 'stream-ended' });
  // The server hung up on the streamer's PeerJS call.
  await waitFor(() => streamer.evaluate(() => window.closedCalls === 1), { timeout: 20000, what: "the streamer's call to close" });
  await viewer.close();
  await streamer.close();
  app.close();
});

test("the original clip dance switches the stream's source without dropping viewers", { timeout: 120000 }, async () => {
  const { app, events } = await connectApp();
  const streamer = await startPeerStreamer(browser, server, peerServer, 'streamer-dance');
  const first = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'streamer-dance', streamId: 'dance' });
  assert.equal(first.ok, true);
  await waitFor(() => events.started.length > 0, { timeout: 15000, what: 'stream-started' });
  const viewer = await startPeerViewer(browser, server, peerServer, first.viewerPeerId);
  const whep = await startViewer(browser, server, 'dance');
  await expectPeerViewerDecoding(viewer, { minFrames: 20 });
  await waitFor(async () => (await viewerStats(whep)).framesDecoded >= 20, { timeout: 15000, what: 'WHEP viewer frames' });

  // The dance: the app starts the same stream again, the streamer answers
  // the new call, then closes the old one.
  const second = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'streamer-dance', streamId: 'dance' });
  assert.equal(second.ok, true, JSON.stringify(second));
  assert.equal(second.viewerPeerId, first.viewerPeerId);
  await waitFor(() => streamer.evaluate(() => window.calls.length === 2), { timeout: 15000, what: 'the second call' });
  await sleep(1500);
  await streamer.evaluate(() => window.calls[0].close());

  // Viewers keep decoding from the new source; the stream never ended.
  const before = [(await peerViewerStats(viewer)).framesDecoded, (await viewerStats(whep)).framesDecoded];
  await waitFor(async () => (await peerViewerStats(viewer)).framesDecoded > before[0] + 60, { timeout: 20000, what: 'the PeerJS viewer to decode after the switch' });
  await waitFor(async () => (await viewerStats(whep)).framesDecoded > before[1] + 60, { timeout: 20000, what: 'the WHEP viewer to decode after the switch' });
  assert.equal((await peerViewerStats(viewer)).closed, false);
  assert.deepEqual(events.ended, []);
  assert.deepEqual(events.errors, []);
  assert.match(server.log(), /stream 'dance': source switched/);

  // The second call is now the source: hanging it up ends the stream.
  await streamer.evaluate(() => window.calls[1].close());
  await waitFor(() => events.ended.length > 0, { timeout: 20000, what: 'stream-ended' });
  for (const p of [viewer, whep, streamer]) await p.close();
  app.close();
});
