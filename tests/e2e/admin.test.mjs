// The admin API with real peers: GET /api/admin/sessions lists a Chromium
// publisher and its viewers with live stats; DELETE kicks one viewer and
// then ends the stream, and the app hears of both over Socket.IO and
// webhooks. ADMIN_KEY is required from everywhere when set; without it only
// loopback gets in.
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';
import { startReceiver } from './lib/webhook_receiver.mjs';

const KEY = 'admin-test-key';
const IPV6 = 'fd00:6c73::2';  // on v0 in the test's network namespace (scripts/run-e2e.sh)

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function admin(server, method, path, key = KEY) {
  const res = await fetch(`${server.url}/api/admin/${path}`, {
    method, headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

test('sessions with live stats; a viewer kicked and a stream ended by the admin reach the peers, Socket.IO and webhooks', { timeout: 120000 }, async () => {
  const hooks = await startReceiver();
  const server = await startServer({ ADMIN_KEY: KEY, WEBHOOK_URLS: hooks.url, WEBHOOK_SECRET: 'w' });
  const app = io(server.url, { reconnection: false, timeout: 5000 });
  const pages = [];
  try {
    await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
    const sessionEnded = [];
    const streamEnded = [];
    app.on('session-ended', (e) => sessionEnded.push(e));
    app.on('stream-ended', (e) => streamEnded.push(e));

    const pub = await startPublisher(browser, server, 'admincam', 'VP8');
    pages.push(pub);
    const v1 = await startViewer(browser, server, 'admincam');
    const v2 = await startViewer(browser, server, 'admincam');
    pages.push(v1, v2);
    await expectDecoding(v1, pub);
    await expectDecoding(v2, pub);

    // The guard: no key, a wrong key (even from loopback, since ADMIN_KEY is set).
    const none = await admin(server, 'GET', 'sessions', '');
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate'), /^Bearer/);
    assert.equal((await admin(server, 'GET', 'sessions', 'wrong')).status, 401);

    // Every session, with what an operator needs; RTT once the viewers' receiver reports came.
    let list;
    await waitFor(async () => {
      list = (await admin(server, 'GET', 'sessions')).body.sessions;
      return list.length === 3 && list.filter((s) => s.role === 'viewer').every((s) => typeof s.rtt_ms === 'number' && s.bitrate_bps > 0);
    }, { timeout: 15000, what: 'three sessions with RTT and bitrate' });
    const publisher = list.find((s) => s.role === 'publisher');
    const viewers = list.filter((s) => s.role === 'viewer');
    assert.equal(viewers.length, 2);
    for (const s of list) {
      assert.equal(s.stream, 'admincam');
      assert.equal(s.stream_id, publisher.session_id);
      assert.match(s.session_id, /^[0-9a-f]{8,64}$/);
      assert.match(s.remote, /^127\.0\.0\.1:\d+$/, JSON.stringify(s));
      // (Chromium here often ends on ICE-TCP: its UDP pair from the veth's
      // 127.0.0.2 never answers, and it then prefers the TCP pair.)
      assert.ok(['udp', 'tcp'].includes(s.transport), JSON.stringify(s));
      assert.equal(s.connected, true);
      assert.equal(s.codec, 'VP8');
      assert.equal(s.video_codec, 'VP8');
      assert.equal(s.audio_codec, 'opus');
      assert.ok(s.loss >= 0 && s.loss <= 1, JSON.stringify(s));
      assert.ok(!Number.isNaN(Date.parse(s.since)), s.since);
      assert.ok(Date.parse(s.since) <= Date.now() + 1000);
      assert.equal(typeof s.worker, 'number');
    }
    assert.ok(publisher.bitrate_bps > 100_000, `publisher bitrate ${publisher.bitrate_bps}`);
    for (const v of viewers) assert.ok(v.bitrate_bps > 50_000, `viewer bitrate ${v.bitrate_bps}`);
    const onlyViewers = (await admin(server, 'GET', 'sessions?role=viewer')).body.sessions;
    assert.deepEqual(onlyViewers.map((s) => s.session_id).sort(), viewers.map((s) => s.session_id).sort());
    assert.deepEqual((await admin(server, 'GET', 'sessions?stream=other')).body.sessions, []);

    // Kick one viewer: it is closed (DTLS close), the other keeps playing.
    const kicked = viewers[0].session_id;
    const kick = await admin(server, 'DELETE', `sessions/${kicked}`);
    assert.equal(kick.status, 200);
    assert.deepEqual(kick.body, { stream: 'admincam', session_id: kicked, role: 'viewer' });
    const kickedPage = (await v1.evaluate(() => window.view.location)).includes(kicked) ? v1 : v2;
    const other = kickedPage === v1 ? v2 : v1;
    await waitFor(async () => (await viewerStats(kickedPage)).ended, { timeout: 10000, what: 'the kicked viewer to see its session end' });
    const before2 = (await viewerStats(other)).framesDecoded;
    await waitFor(async () => (await viewerStats(other)).framesDecoded > before2 + 30, { timeout: 10000, what: 'the other viewer to keep playing' });
    assert.equal((await admin(server, 'DELETE', `sessions/${kicked}`)).status, 404);
    await waitFor(() => sessionEnded.some((e) => e.id === kicked), { timeout: 5000, what: 'Socket.IO session-ended' });
    assert.deepEqual(sessionEnded.find((e) => e.id === kicked), { streamId: 'admincam', id: kicked, role: 'viewer', reason: 'ended by an admin' });
    await waitFor(() => hooks.accepted().some((e) => e.type === 'viewer.left' && e.data.session_id === kicked), { timeout: 10000, what: 'webhook viewer.left' });
    assert.equal((await admin(server, 'GET', 'sessions')).body.sessions.length, 2);

    // End the stream: every peer closed, the name free, the app and the webhooks told.
    const end = await admin(server, 'DELETE', 'streams/admincam');
    assert.equal(end.status, 200);
    assert.deepEqual(end.body, { stream: 'admincam', session_id: publisher.session_id, role: 'publisher' });
    await waitFor(async () => (await viewerStats(other)).ended, { timeout: 10000, what: 'the remaining viewer to see the end' });
    await waitFor(async () => (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams.every((s) => s.name !== 'admincam'),
      { timeout: 5000, what: 'the stream to leave /api/streams' });
    assert.deepEqual((await admin(server, 'GET', 'sessions')).body.sessions, []);
    assert.equal((await admin(server, 'DELETE', 'streams/admincam')).status, 404);
    assert.equal((await admin(server, 'DELETE', 'streams/..%2Fx')).status, 400);
    await waitFor(() => streamEnded.some((e) => e.streamId === 'admincam'), { timeout: 5000, what: 'Socket.IO stream-ended' });
    assert.ok(sessionEnded.some((e) => e.id === publisher.session_id && e.role === 'publisher'));
    await waitFor(() => hooks.accepted().some((e) => e.type === 'stream.ended' && e.data.id === publisher.session_id), { timeout: 10000, what: 'webhook stream.ended' });
  } finally {
    app.close();
    for (const p of pages) await p.close().catch(() => {});
    await server.stop();
    await hooks.close();
  }
});

// Without ADMIN_KEY the API answers loopback only: a request from the
// namespace's non-loopback IPv6 address gets 401, one from 127.0.0.1 gets in.
const haveIpv6 = Object.values(os.networkInterfaces()).flat().some((i) => i && i.address === IPV6);
test('without ADMIN_KEY: loopback only', { skip: !haveIpv6 && `no ${IPV6} here (run through scripts/run-e2e.sh)` }, async () => {
  const server = await startServer({ LISTEN_ADDRESS: '::' });
  try {
    const get = (host, localAddress) => new Promise((resolve, reject) => {
      const req = http.request({ host, port: server.port, path: '/api/admin/sessions', localAddress }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const remote = await get(IPV6, IPV6);
    assert.equal(remote.status, 401);
    assert.match(remote.body, /loopback/);
    const local = await get('127.0.0.1');
    assert.equal(local.status, 200);
    assert.deepEqual(JSON.parse(local.body), { sessions: [] });
  } finally {
    await server.stop();
  }
});
