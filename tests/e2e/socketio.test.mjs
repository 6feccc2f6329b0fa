// The original app's control channel with the real socket.io-client package.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { startPublisher } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

let server, browser;
before(async () => {
  server = await startServer({ STREAM_KEY: 'app-key', CLIP_LENGTH: '2' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

function connect(opts) {
  return io(server.url, { reconnection: false, timeout: 5000, ...opts });
}

test('the app connects with the stream key in the query and gets clip and stream events', async () => {
  const app = connect({ query: { key: 'app-key' } });
  await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
  assert.ok(app.id);
  const clips = [];
  const started = [];
  let ended = null;
  app.on('clip', (c) => clips.push(c));
  app.on('stream-started', (s) => started.push(s));
  app.on('stream-ended', (s) => { ended = s; });

  const publisher = await startPublisher(browser, server, 'appcam', 'VP8', 'app-key');
  await sleep(5000);
  // The app ends the stream itself, with an ack.
  const reply = await app.timeout(5000).emitWithAck('end-stream', { streamId: 'appcam' });
  assert.deepEqual(reply, { ok: true });
  await waitFor(() => ended !== null && clips.length >= 2, { timeout: 15000, what: 'clip and stream-ended events' });
  assert.equal(started[0].streamId, 'appcam');
  assert.equal(ended.streamId, 'appcam');
  for (const c of clips) {
    assert.equal(c.streamId, 'appcam');
    assert.match(c.url, /^\/recordings\/appcam\//);
    const res = await fetch(`${server.url}${c.url}`);
    assert.equal(res.status, 200);
  }
  // Acks for unknown streams and events carry an error.
  assert.ok((await app.timeout(5000).emitWithAck('end-stream', { streamId: 'nope' })).error);
  const start = await app.timeout(5000).emitWithAck('start-stream', { peerId: 'p1', streamId: 's1' });
  assert.match(start.error, /WHIP/);
  app.close();
  await publisher.close();
});

test('websocket-only clients and the polling-to-WebSocket upgrade both work', async () => {
  const wsOnly = connect({ query: { key: 'app-key' }, transports: ['websocket'] });
  await new Promise((resolve, reject) => { wsOnly.on('connect', resolve); wsOnly.on('connect_error', reject); });
  assert.equal(wsOnly.io.engine.transport.name, 'websocket');
  assert.ok((await wsOnly.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error);
  wsOnly.close();

  const upgraded = connect({ query: { key: 'app-key' } });  // default: polling, then upgrade
  await new Promise((resolve, reject) => { upgraded.on('connect', resolve); upgraded.on('connect_error', reject); });
  await waitFor(() => upgraded.io.engine.transport.name === 'websocket', { timeout: 5000, what: 'the upgrade' });
  assert.ok((await upgraded.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error);
  upgraded.close();
});

test('the key may come in the CONNECT auth payload', async () => {
  const app = connect({ auth: { streamKey: 'app-key' } });
  await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
  app.close();
});

test('a wrong or missing key is refused with CONNECT_ERROR', async () => {
  for (const opts of [{ query: { key: 'wrong' } }, {}]) {
    const app = connect(opts);
    const err = await new Promise((resolve) => { app.on('connect_error', resolve); app.on('connect', () => resolve(null)); });
    assert.ok(err, 'refused');
    assert.match(err.message, /stream key/);
    app.close();
  }
});

test('malformed Engine.IO and Socket.IO frames close that session only', async () => {
  const good = connect({ query: { key: 'app-key' } });
  await new Promise((resolve) => good.on('connect', resolve));
  const open = await (await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`)).text();
  const sid = JSON.parse(open.slice(1)).sid;
  const post = (body) => fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body });
  assert.equal((await post('42["unterminated')).status, 200);  // accepted at the HTTP level, then closed
  assert.equal((await post('40')).status, 400);  // the session is gone
  assert.equal((await fetch(`${server.url}/socket.io/?EIO=3&transport=polling`)).status, 400);
  assert.equal((await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=unknown`)).status, 400);
  const big = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
  const sid2 = JSON.parse((await big.text()).slice(1)).sid;
  const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid2}`, { method: 'POST', body: 'x'.repeat(70000) });
  assert.ok(res.status === 413 || res.status === 400);
  // The well-behaved app is still connected and answered.
  assert.ok((await good.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error);
  good.close();
});
