// The addresses the server announces: IPv6 host candidates (PUBLIC_IP with
// an IPv6 address, or found on the host's interfaces) that Chromium
// publishes and watches over, and PUBLIC_IP=auto, which asks a STUN server
// (Debian's coturn on loopback) for the media socket's mapped address and
// starts anyway, saying why, when none answers.
//
// scripts/run-e2e.sh gives the namespace's veth v0 the unique-local address
// IPV6 below: Chromium gathers no candidate on ::1, so IPv6 media between
// it and the server need an address on a real interface.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { haveCoturn, selectedPair, startCoturn } from './lib/blocked.mjs';
import { launchBrowser, openPage, sleep, waitFor } from './lib/browser.mjs';
import { viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

const IPV6 = 'fd00:6c73::2';
let browser;
const servers = [];

function hasAddress(ip) {
  const r = spawnSync('ip', ['-6', '-o', 'addr', 'show'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes(`${ip}/`);
}

before(async () => { browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
});

async function server(env) {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

// An answer filter (web/app.js) that keeps only the IPv6 candidates, so the
// session can only connect over IPv6.
const ipv6Only = `(sdp) => sdp.split(/\\r?\\n/).filter((l) => !/^a=candidate:/.test(l) || l.split(' ')[4].includes(':')).join('\\r\\n')`;

async function publishV6(s, name) {
  const page = await openPage(browser, s);
  await page.evaluate(async ({ name, filter }) => {
    // eslint-disable-next-line no-eval
    window.pub = await window.lss.publish(name, { codec: 'VP8', answerFilter: eval(filter) });
  }, { name, filter: ipv6Only });
  return page;
}

async function watchV6(s, name) {
  const page = await openPage(browser, s);
  await page.evaluate(async ({ name, filter }) => {
    // eslint-disable-next-line no-eval
    window.view = await window.lss.watch(name, { answerFilter: eval(filter) });
    const el = document.createElement('video');
    el.autoplay = true;
    el.muted = true;
    el.srcObject = window.view.media;
    document.body.append(el);
    el.play().catch(() => {});
  }, { name, filter: ipv6Only });
  return page;
}

function candidates(sdp) {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => {
    const f = l.split(' ');
    return { transport: f[2].toLowerCase(), address: f[4], port: Number(f[5]) };
  });
}

test('IPv6: publish and watch over IPv6 host candidates', async (t) => {
  if (!hasAddress(IPV6)) {
    t.skip(`no ${IPV6} in this namespace (run through scripts/run-e2e.sh)`);
    return;
  }
  const s = await server({ PUBLIC_IP: `127.0.0.1,${IPV6}` });
  // The WHEP answer itself announces both families, UDP and TCP.
  const publisher = await publishV6(s, 'six');
  const viewer = await watchV6(s, 'six');
  await waitFor(async () => (await viewerStats(viewer)).framesDecoded > 30,
    { timeout: 20000, interval: 200, what: 'the IPv6 viewer to decode 30 frames' });
  const pubPair = await selectedPair(publisher, 'pub');
  const viewPair = await selectedPair(viewer);
  console.log(`publisher pair ${JSON.stringify(pubPair)}\nviewer pair ${JSON.stringify(viewPair)}`);
  assert.equal(pubPair.remoteAddress, IPV6);
  assert.equal(viewPair.remoteAddress, IPV6);
  assert.equal(viewPair.protocol, 'udp');
  const v = await viewerStats(viewer);
  assert.ok(v.audioPackets > 20, `audio over IPv6: ${v.audioPackets}`);
  // The filter left only IPv6 candidates: the media can only have gone over IPv6.
  const answer = await viewer.evaluate(() => window.view.pc.remoteDescription.sdp);
  assert.ok(candidates(answer).every((c) => c.address === IPV6), answer);
  assert.equal(pubPair.localAddress, IPV6);
  await viewer.evaluate(() => window.view.stop());
  await publisher.evaluate(() => window.pub.stop());
});

test('IPv6: without PUBLIC_IP the host\'s unique-local address is announced after IPv4', async (t) => {
  if (!hasAddress(IPV6)) {
    t.skip(`no ${IPV6} in this namespace`);
    return;
  }
  const s = await server({ PUBLIC_IP: '' });
  const page = await openPage(browser, s);
  const offer = await page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'sendonly' });
    pc.addTransceiver('video', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const sdp = pc.localDescription.sdp;
    pc.close();
    return sdp;
  });
  await page.close();
  const r = await fetch(`${s.url}/whip/hostv6`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
  assert.equal(r.status, 201);
  const answer = await r.text();
  const udp = candidates(answer).filter((c) => c.transport === 'udp').map((c) => c.address);
  console.log(`UDP host candidates: ${udp.join(', ')}`);
  assert.ok(udp.includes(IPV6), `the unique-local address is a candidate: ${udp}`);
  assert.ok(udp.indexOf('127.0.0.1') < udp.indexOf(IPV6), `IPv4 first: ${udp}`);
  assert.ok(!udp.includes('::1'), 'no ::1 unless PUBLIC_IP names it');
  await fetch(new URL(r.headers.get('location'), s.url), { method: 'DELETE' });
});

test('PUBLIC_IP=auto: the STUN-mapped address is announced first', async (t) => {
  if (!haveCoturn()) {
    t.skip('no coturn (Debian coturn)');
    return;
  }
  const turn = await startCoturn();
  try {
    const s = await server({ PUBLIC_IP: 'auto', STUN_SERVERS: `stun:127.0.0.1:${turn.port}` });
    await waitFor(() => /PUBLIC_IP=auto: stun:127\.0\.0\.1:\d+ sees UDP port \d+ as 127\.0\.0\.1:\d+/.test(s.log()),
      { timeout: 5000, what: `the STUN answer in the log:\n${s.log()}` });
    const pub = await openPage(browser, s);
    await pub.evaluate(async () => { window.pub = await window.lss.publish('auto', { codec: 'VP8' }); });
    await waitFor(async () => pub.evaluate(() => window.pub.pc.connectionState === 'connected'),
      { timeout: 15000, what: 'the publisher to connect' });
    const answer = await pub.evaluate(() => window.pub.pc.remoteDescription.sdp);
    const udp = candidates(answer).filter((c) => c.transport === 'udp');
    assert.equal(udp[0].address, '127.0.0.1', answer);
    assert.equal(udp[0].port, s.udpPort);
    await pub.evaluate(() => window.pub.stop());
  } finally {
    await turn.stop();
  }
});

test('PUBLIC_IP=auto with no STUN server answering: starts anyway and says why', async () => {
  // A port nobody listens on: requests get ICMP port unreachable or nothing.
  const s = await server({ PUBLIC_IP: 'auto', STUN_SERVERS: 'stun:127.0.0.1:9' });
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  const log = s.log();
  assert.match(log, /PUBLIC_IP=auto: no STUN server answered \(stun:127\.0\.0\.1:9: [^)]+\)/);
  assert.match(log, /set PUBLIC_IP to the public address/);
  // And it still serves on the host's own addresses.
  const page = await openPage(browser, s);
  await page.evaluate(async () => { window.pub = await window.lss.publish('noauto', { codec: 'VP8' }); });
  await waitFor(async () => page.evaluate(() => window.pub.pc.connectionState === 'connected'),
    { timeout: 15000, what: 'the publisher to connect on host candidates' });
  await page.evaluate(() => window.pub.stop());
  await sleep(100);
});

test('PUBLIC_IP=auto without any STUN server is refused at start with the reason', async () => {
  await assert.rejects(startServer({ PUBLIC_IP: 'auto', STUN_SERVERS: '', ICE_SERVERS: '' }),
    /PUBLIC_IP: 'auto' asks a STUN server/);
});
