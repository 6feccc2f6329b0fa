// Reachable from any network: ICE restart and trickle over WHIP/WHEP PATCH
// (RFC 9725 §4.3/4.4), ICE servers announced as Link headers (§4.6), and a
// viewer that can only go through TURN (Debian's coturn on loopback).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { haveCoturn, startCoturn } from './lib/blocked.mjs';
import { launchBrowser, openPage, sleep, waitFor } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { repoRoot, startServer } from './lib/server.mjs';

const serverBin = process.env.LSS_BIN || path.join(repoRoot, 'build/live-stream-server');
const publishOffer = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chrome_publish_offer.sdp'), 'utf8');
const viewOffer = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chrome_view_offer.sdp'), 'utf8');
const FRAG = 'application/trickle-ice-sdpfrag';

let browser;
const servers = [];
before(async () => { browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  for (const s of servers) {
    await s.stop();
    if (process.exitCode) console.log(s.log());
  }
});

async function server(env = {}) {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

const post = (s, p, body) => fetch(`${s.url}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body });
const patch = (s, location, body, headers) => fetch(`${s.url}${location}`, { method: 'PATCH', headers, body });
const trickle = (ufrag) => `a=ice-ufrag:${ufrag}\r\na=ice-pwd:0123456789012345678901\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n`
  + 'a=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n';
const restartFrag = 'a=ice-ufrag:NeW1\r\na=ice-pwd:abcdefghijABCDEFGHIJ0123\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n'
  + 'a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61765 typ host\r\na=end-of-candidates\r\n';
const line = (sdp, name) => (new RegExp(`^a=${name}:(.*)$`, 'm').exec(sdp) || [])[1]?.trim();

// Link header values (several headers are joined by ", " in fetch).
function iceServerLinks(header) {
  const out = [];
  for (const m of (header || '').matchAll(/<([^>]*)>((?:\s*;\s*[\w-]+(?:="(?:[^"\\]|\\.)*"|=[^;,]*)?)*)/g)) {
    const params = {};
    for (const p of m[2].matchAll(/;\s*([\w-]+)(?:="((?:[^"\\]|\\.)*)"|=([^;,]*))?/g)) params[p[1]] = p[2] ?? p[3];
    if (params.rel === 'ice-server') out.push({ url: m[1], ...params });
  }
  return out;
}

test('PATCH: 404 first, then 415, 428, 412, 400; trickle 204; ICE restart 200 with a new ETag', async () => {
  const s = await server();
  let res = await post(s, '/whip/patch1', publishOffer);
  assert.equal(res.status, 201);
  const location = res.headers.get('location');
  const etag = res.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{20}"$/);
  assert.match(res.headers.get('access-control-expose-headers'), /ETag/);
  const answer = await res.text();
  const fragHeaders = { 'Content-Type': FRAG, 'If-Match': etag };

  // An unknown session is 404 whatever else is wrong with the request.
  const unknown = location.replace(/[0-9a-f]+$/, '00ffffffffffffffffffffff');
  assert.equal((await patch(s, unknown, 'junk', { 'Content-Type': 'text/plain' })).status, 404);
  assert.equal((await patch(s, unknown, trickle('abcd'), fragHeaders)).status, 404);
  assert.equal((await patch(s, '/whip/nostream/0012', trickle('abcd'), fragHeaders)).status, 404);
  assert.equal((await patch(s, location, trickle('abcd'), { 'Content-Type': 'application/sdp', 'If-Match': etag })).status, 415);
  assert.equal((await patch(s, location, trickle('abcd'), { 'Content-Type': FRAG })).status, 428);
  res = await patch(s, location, trickle('abcd'), { 'Content-Type': FRAG, 'If-Match': '"stale"' });
  assert.equal(res.status, 412);
  res = await patch(s, location, 'not a fragment', fragHeaders);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /malformed SDP fragment/);

  // Trickle with the current ETag: 204, no body, no ETag (candidates ignored: ICE-lite).
  const clientUfrag = line(publishOffer, 'ice-ufrag');
  res = await patch(s, location, trickle(clientUfrag), fragHeaders);
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('etag'), null);
  assert.equal(await res.text(), '');

  // ICE restart: If-Match: * and new credentials.
  res = await patch(s, location, restartFrag, { 'Content-Type': FRAG, 'If-Match': '*' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), FRAG);
  const etag2 = res.headers.get('etag');
  assert.match(etag2, /^"[0-9a-f]{20}"$/);
  assert.notEqual(etag2, etag);
  const frag = await res.text();
  assert.ok(line(frag, 'ice-ufrag') && line(frag, 'ice-ufrag') !== line(answer, 'ice-ufrag'), frag);
  assert.ok(line(frag, 'ice-pwd') && line(frag, 'ice-pwd') !== line(answer, 'ice-pwd'), frag);
  assert.match(frag, /^a=ice-lite\r$/m);
  assert.match(frag, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r$/m);
  assert.match(frag, /^a=mid:0\r$/m);
  assert.match(frag, new RegExp(`^a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${s.udpPort} typ host\\r$`, 'm'));
  assert.match(frag, /^a=end-of-candidates\r$/m);
  assert.doesNotMatch(frag, /fingerprint|setup/);
  // The old ETag is stale now; the new one takes trickles of the new generation.
  assert.equal((await patch(s, location, trickle('NeW1'), fragHeaders)).status, 412);
  assert.equal((await patch(s, location, trickle('NeW1'), { 'Content-Type': FRAG, 'If-Match': etag2 })).status, 204);
  // A restart without the new password is malformed.
  res = await patch(s, location, 'a=ice-ufrag:NeW2\r\n', { 'Content-Type': FRAG, 'If-Match': '*' });
  assert.equal(res.status, 400);

  // WHEP sessions take PATCH the same way.
  res = await post(s, '/whep/patch1', viewOffer);
  assert.equal(res.status, 201);
  const viewer = res.headers.get('location');
  assert.match(res.headers.get('etag'), /^"[0-9a-f]{20}"$/);
  res = await patch(s, viewer, restartFrag, { 'Content-Type': FRAG, 'If-Match': '*' });
  assert.equal(res.status, 200);
  assert.ok(line(await res.text(), 'ice-ufrag'));

  // CORS preflight for PATCH and DELETE on a session.
  res = await fetch(`${s.url}${location}`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'content-type, if-match' },
  });
  assert.ok(res.status === 200 || res.status === 204);
  assert.match(res.headers.get('access-control-allow-methods'), /PATCH/);
  assert.match(res.headers.get('access-control-allow-methods'), /DELETE/);
  assert.match(res.headers.get('access-control-allow-headers'), /If-Match/);
  assert.match(res.headers.get('access-control-allow-headers'), /Content-Type/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');

  assert.equal((await fetch(`${s.url}${location}`, { method: 'DELETE' })).status, 200);
  assert.equal((await patch(s, location, trickle('NeW1'), { 'Content-Type': FRAG, 'If-Match': etag2 })).status, 404);
});

test('Link headers: static TURN credentials on OPTIONS and 201', async () => {
  const s = await server({
    ICE_SERVERS: 'stun:stun.example.net, turn:turn.example.net:3478?transport=udp',
    TURN_USERNAME: 'user1',
    TURN_PASSWORD: 'pa"ss',
  });
  for (const p of ['/whip/links', '/whep/links']) {
    const res = await fetch(`${s.url}${p}`, { method: 'OPTIONS' });
    assert.ok(res.ok, p);
    assert.match(res.headers.get('access-control-expose-headers'), /Link/);
    const links = iceServerLinks(res.headers.get('link'));
    assert.deepEqual(links.map((l) => l.url), ['stun:stun.example.net', 'turn:turn.example.net:3478?transport=udp'], p);
    assert.equal(links[0].username, undefined);
    assert.equal(links[1].username, 'user1');
    assert.equal(links[1].credential, 'pa\\"ss');  // quoted-string escape as sent
    assert.equal(links[1]['credential-type'], 'password');
  }
  // Not on a CORS preflight (no script can read it).
  let res = await fetch(`${s.url}/whep/links`, { method: 'OPTIONS', headers: { 'Access-Control-Request-Method': 'POST' } });
  assert.equal(res.headers.get('link'), null);
  res = await post(s, '/whip/links', publishOffer);
  assert.equal(res.status, 201);
  assert.equal(iceServerLinks(res.headers.get('link')).length, 2);
  await fetch(`${s.url}${res.headers.get('location')}`, { method: 'DELETE' });
});

test('Link headers: per-session coturn REST credentials from TURN_SECRET', async () => {
  const s = await server({ ICE_SERVERS: 'turn:127.0.0.1:3478', TURN_SECRET: 'S3cr3t' });
  const hmac = (user) => crypto.createHmac('sha1', 'S3cr3t').update(user).digest('base64');
  const now = Math.floor(Date.now() / 1000);
  let res = await post(s, '/whip/rest', publishOffer);
  assert.equal(res.status, 201);
  const session = res.headers.get('location').split('/').pop();
  let [link] = iceServerLinks(res.headers.get('link'));
  assert.equal(link.url, 'turn:127.0.0.1:3478');
  const [expiry, user] = link.username.split(':');
  assert.equal(user, session);
  assert.ok(Math.abs(Number(expiry) - (now + 86400)) < 60, `expiry ${expiry}, now ${now}`);
  assert.equal(link.credential, hmac(link.username));
  assert.equal(link['credential-type'], 'password');
  res = await fetch(`${s.url}/whep/rest`, { method: 'OPTIONS' });
  [link] = iceServerLinks(res.headers.get('link'));
  assert.match(link.username, /^\d+:[0-9a-f]+$/);
  assert.ok(Number(link.username.split(':')[0]) - now >= 3600);
  assert.equal(link.credential, hmac(link.username));
});

test('bad ICE_SERVERS / TURN settings stop start-up naming the variable', () => {
  const run = (env) => spawnSync(serverBin, [], { env: { ...process.env, PORT: '0', ...env }, encoding: 'utf8', timeout: 10000 });
  let r = run({ ICE_SERVERS: 'turn://127.0.0.1:3478', TURN_SECRET: 'S' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid ICE_SERVERS: 'turn:\/\/127\.0\.0\.1:3478'/);
  r = run({ ICE_SERVERS: 'turn:127.0.0.1:3478' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /TURN_USERNAME and TURN_PASSWORD, or TURN_SECRET/);
  r = run({ ICE_SERVERS: 'turn:127.0.0.1:3478', TURN_SECRET: 'S', TURN_USERNAME: 'u', TURN_PASSWORD: 'p' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid TURN_SECRET: set either/);
  r = spawnSync(serverBin, ['--help'], { encoding: 'utf8' });
  assert.match(r.stdout, /ICE_SERVERS/);
  assert.match(r.stdout, /TURN_SECRET/);
});

// Samples framesDecoded every 100 ms for `ms`; returns frames gained and the
// longest time without a new frame.
async function watchFrames(page, ms) {
  const start = Date.now();
  let last = (await viewerStats(page)).framesDecoded, lastChange = Date.now(), longest = 0;
  const first = last;
  while (Date.now() - start < ms) {
    await sleep(100);
    const f = (await viewerStats(page)).framesDecoded;
    if (f > last) {
      longest = Math.max(longest, Date.now() - lastChange);
      last = f;
      lastChange = Date.now();
    }
  }
  longest = Math.max(longest, Date.now() - lastChange);
  return { gained: last - first, longest };
}

async function inboundVideoSsrc(page) {
  return page.evaluate(async () => (await window.lss.inboundStats(window.view.pc)).video?.ssrc);
}

test('a Chromium viewer and publisher restart ICE; video goes on with the same DTLS and SSRCs', async () => {
  const s = await server();
  const publisher = await startPublisher(browser, s, 'restart', 'VP8');
  const viewer = await startViewer(browser, s, 'restart');
  await expectDecoding(viewer, publisher);
  const ssrc = await inboundVideoSsrc(viewer);
  const before = await viewer.evaluate(() => ({
    ufrag: /^a=ice-ufrag:(.*)$/m.exec(window.view.pc.remoteDescription.sdp)[1].trim(),
    fingerprint: /^a=fingerprint:(.*)$/m.exec(window.view.pc.remoteDescription.sdp)[1].trim(),
    location: window.view.location,
  }));

  // The browser's own API: the page notices (negotiationneeded) and PATCHes.
  const t0 = Date.now();
  const sampling = watchFrames(viewer, 5000);
  await viewer.evaluate(() => window.view.pc.restartIce());
  await waitFor(() => viewer.evaluate(() => window.view.iceRestarts >= 1 || window.view.iceRestartError), { what: 'the PATCH round trip', interval: 20 });
  const patched = Date.now() - t0;
  assert.equal(await viewer.evaluate(() => window.view.iceRestartError), undefined);
  const afterRestart = await viewer.evaluate(() => ({
    ufrag: /^a=ice-ufrag:(.*)$/m.exec(window.view.pc.remoteDescription.sdp)[1].trim(),
    fingerprint: /^a=fingerprint:(.*)$/m.exec(window.view.pc.remoteDescription.sdp)[1].trim(),
    etag: window.view.etag,
  }));
  assert.notEqual(afterRestart.ufrag, before.ufrag);
  assert.equal(afterRestart.fingerprint, before.fingerprint);
  assert.match(afterRestart.etag, /^"[0-9a-f]{20}"$/);
  // The server saw Chromium nominate with the new credentials.
  const session = before.location.split('/').pop();
  await waitFor(async () => {
    const stats = await (await fetch(`${s.url}/api/stats?stream=restart`)).json();
    return stats.viewers.find((v) => v.session === session)?.ice_restarts >= 1;
  }, { what: 'ice_restarts in /api/stats', timeout: 10000 });
  assert.match(s.log(), /ICE restart complete/);
  const { gained, longest } = await sampling;
  console.log(`viewer restart: offer + PATCH + answer applied in ${patched} ms; ${gained} frames in 5 s, longest freeze ${longest} ms`);
  assert.ok(gained >= 40, `only ${gained} frames decoded around the restart`);
  assert.ok(longest < 1000, `video froze ${longest} ms`);
  assert.equal(await inboundVideoSsrc(viewer), ssrc);
  assert.equal(await viewer.evaluate(() => window.view.pc.connectionState), 'connected');
  assert.equal(await viewer.evaluate(() => window.view.pc.getReceivers()[0].transport.state), 'connected');

  // A second restart, then the publisher restarts (WHIP PATCH): viewers go on.
  await viewer.evaluate(() => window.view.restartIce());
  assert.equal(await viewer.evaluate(() => window.view.iceRestarts), 2);
  await publisher.evaluate(() => window.pub.restartIce());
  assert.equal(await publisher.evaluate(() => window.pub.iceRestarts), 1);
  const later = await watchFrames(viewer, 3000);
  assert.ok(later.gained >= 25 && later.longest < 1000, JSON.stringify(later));
  await waitFor(() => /publisher session \w+ ICE restart/.test(s.log()), { what: 'publisher restart in the log' });
  assert.equal(await inboundVideoSsrc(viewer), ssrc);
  await publisher.evaluate(() => window.pub.stop());
});

test('a viewer that may only relay watches through coturn (TURN_SECRET credentials)', async (t) => {
  if (!haveCoturn()) {
    t.skip('coturn (turnserver) is not installed: scripts/install-deps.sh test installs it');
    return;
  }
  const turn = await startCoturn({ secret: 'S', verbose: true });
  t.after(() => turn.stop());
  const turnPort = turn.port;
  const s = await server({ ICE_SERVERS: `turn:127.0.0.1:${turnPort}`, TURN_SECRET: 'S' });
  const publisher = await startPublisher(browser, s, 'relayed', 'VP8');
  const page = await openPage(browser, s);
  await page.evaluate(async () => {
    window.view = await window.lss.watch('relayed', { iceTransportPolicy: 'relay' });
    const el = document.createElement('video');
    el.autoplay = true;
    el.muted = true;
    el.srcObject = window.view.media;
    document.body.append(el);
    el.play().catch(() => {});
  });
  const offer = await page.evaluate(() => window.view.pc.localDescription.sdp);
  assert.match(offer, /typ relay/, 'the offer carries relay candidates (OPTIONS gave the TURN server before gathering)');
  assert.doesNotMatch(offer, /typ host/);
  try {
    await waitFor(async () => (await viewerStats(page)).framesDecoded >= 30, { timeout: 20000, what: '30 frames through TURN' });
  } catch (e) {
    console.log(turn.log());
    throw e;
  }
  const pair = await page.evaluate(async () => {
    const stats = await window.view.pc.getStats();
    let transport = null;
    stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) transport = r; });
    const p = transport && stats.get(transport.selectedCandidatePairId);
    const local = p && stats.get(p.localCandidateId);
    const remote = p && stats.get(p.remoteCandidateId);
    return local && { local: local.candidateType, relayProtocol: local.relayProtocol, remote: remote.candidateType, remotePort: remote.port };
  });
  assert.deepEqual(pair, { local: 'relay', relayProtocol: 'udp', remote: 'host', remotePort: s.udpPort });
  // coturn authenticated the allocation with the REST credentials of the
  // OPTIONS answer (the page asked before its offer: "<expiry>:<random id>").
  assert.match(turn.log(), /user <\d+:[0-9a-f]{12}>.*ALLOCATE processed, success/);
  // An ICE restart works through the relay too.
  await page.evaluate(() => window.view.restartIce());
  const after = await watchFrames(page, 3000);
  assert.ok(after.gained >= 20, JSON.stringify(after));
  await publisher.evaluate(() => window.pub.stop());
});
