// PEER_SECURE: the server reaches a PeerJS server over wss:// (certificate
// checked against the system's CAs, here a test CA given by SSL_CERT_FILE),
// and a wrong PEER_KEY is reported to the app.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import { expectPeerViewerDecoding, startPeerServer, startPeerStreamer, startPeerViewer } from './lib/peerjs.mjs';
import { startServer } from './lib/server.mjs';

let dir, peerServer, browser;
const servers = [];
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-peer-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  peerServer = await startPeerServer({ tls: { key, cert } });
  browser = await launchBrowser(['--ignore-certificate-errors']);
});
after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
  await peerServer?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function connectApp(server) {
  const app = io(server.url, { reconnection: false, timeout: 5000, query: { key: 'k' } });
  await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
  const events = { started: [], errors: [], ended: [] };
  app.on('stream-started', (s) => events.started.push(s));
  app.on('stream-ended', (s) => events.ended.push(s));
  app.on('stream-error', (e) => events.errors.push(e));
  return { app, events };
}

test('PEER_SECURE=true: registration, a call and a viewer over wss://', { timeout: 90000 }, async () => {
  const server = await startServer({
    STREAM_KEY: 'k', PEER_HOST: 'localhost', PEER_PORT: String(peerServer.port), PEER_SECURE: 'true',
    SSL_CERT_FILE: path.join(dir, 'cert.pem'),
  });
  servers.push(server);
  const { app, events } = await connectApp(server);
  const streamer = await startPeerStreamer(browser, server, peerServer, 'secure-streamer');
  const reply = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'secure-streamer', streamId: 'tls' });
  assert.equal(reply.ok, true);
  await waitFor(() => events.started.length > 0, { timeout: 20000, what: 'stream-started over wss' });
  const viewer = await startPeerViewer(browser, server, peerServer, reply.viewerPeerId);
  await expectPeerViewerDecoding(viewer, { minFrames: 10 });
  assert.deepEqual(events.errors, []);
  // The streamer's page just closes (no hang-up sent): ICE consent runs out
  // (CONSENT_TIMEOUT, 15 s by default) and the app hears the stream ended.
  await streamer.close();
  await waitFor(() => events.ended.length > 0, { timeout: 40000, what: 'stream-ended after the page closed' });
  assert.equal(events.ended[0].streamId, 'tls');
  await waitFor(async () => viewer.evaluate(() => window.callClosed), { timeout: 15000, what: "the viewer's call to close" });
  await viewer.close();
  app.close();
});

test('a wrong PEER_KEY, or a PeerJS server whose certificate is not trusted, ends in stream-error', { timeout: 90000 }, async () => {
  for (const env of [
    { PEER_KEY: 'not-the-key', SSL_CERT_FILE: path.join(dir, 'cert.pem') },
    {},  // the system CAs do not trust the test certificate
  ]) {
    const server = await startServer({
      STREAM_KEY: 'k', PEER_HOST: 'localhost', PEER_PORT: String(peerServer.port), PEER_SECURE: 'true', ...env,
    });
    servers.push(server);
    const { app, events } = await connectApp(server);
    const reply = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'anyone', streamId: 'nokey' });
    assert.equal(reply.ok, true);
    await waitFor(() => events.errors.length > 0, { timeout: 45000, what: 'stream-error' });
    assert.equal(events.errors[0].streamId, 'nokey');
    assert.match(events.errors[0].message, env.PEER_KEY ? /key/i : /PeerJS server.*(certificate|TLS)/);
    app.close();
  }
});
