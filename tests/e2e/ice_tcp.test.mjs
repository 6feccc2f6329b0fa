// Peers whose network lets no UDP through reach the server over its passive
// ICE-TCP candidates (RFC 6544: `a=candidate:... tcp ... typ host tcptype
// passive`, one listener per media worker, on the worker's UDP port number
// unless TCP_PORT says otherwise).
//
// One Chromium is "behind a firewall": its own profile preferences confine
// its WebRTC UDP sockets to BLOCKED_UDP_RANGE (webrtc.udp_port_range, the
// WebRtcUdpPortRange policy's preference), and an nftables table in the
// test's network namespace (scripts/run-e2e.sh runs the tests in `unshare
// -n`) drops UDP from and to that range; the table is deleted at the end.
// The other Chromium is unblocked; its sessions here keep only the answer's
// UDP candidate, so they stay on UDP (in this namespace an unblocked
// Chromium given both picks TCP: its UDP pair from 127.0.0.2 gets no
// answers from a server that announces one address, and the TCP pair's
// network ranks before the lo UDP pair's). The first test shows the block works
// (the blocked browser's UDP pairs get no answer while the unblocked one's
// do); then the blocked browser watches over TCP, publishes over TCP, and
// watches next to a viewer on UDP.
//
// Where nft cannot be used (not root, no nftables package, or run outside a
// private namespace, where the machine's own firewall is not ours to touch),
// the blocked browser's sessions drop the UDP candidates from the server's
// answer instead (web/app.js's answerFilter), which leaves TCP as the only
// path too; the first test is then skipped, and the log says so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  BLOCKED_UDP_RANGE, blockUdpRange, candidatePairs, launchPortRangeBrowser, publishOver, selectedPair, watchOver,
} from './lib/blocked.mjs';
import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

let browser;         // unblocked
let blocked;         // UDP confined to BLOCKED_UDP_RANGE (a BrowserContext)
let block;           // the nft table, or {error}
let onlyForBlocked;  // the answer filter of the blocked browser's sessions
const servers = [];

before(async () => {
  block = blockUdpRange(BLOCKED_UDP_RANGE);
  if (block.error) {
    onlyForBlocked = 'tcp';
    console.log(`nft cannot block UDP here (${block.error}): the blocked browser's answers lose their UDP candidates instead`);
  } else {
    onlyForBlocked = null;  // the whole answer: the firewall leaves only TCP
  }
  [browser, blocked] = await Promise.all([launchBrowser(), launchPortRangeBrowser({ range: BLOCKED_UDP_RANGE })]);
});

after(async () => {
  await browser?.close();
  await blocked?.close();
  if (block && !block.error) block.remove();
  for (const s of servers) {
    await s.stop();
    if (process.exitCode) console.log(s.log().split('\n').filter((l) => /ice-tcp|error|warn/i.test(l)).join('\n'));
  }
});

async function server(env = {}) {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

async function decoded(page, frames, what, timeout = 25000) {
  await waitFor(async () => (await viewerStats(page)).framesDecoded > frames, { timeout, interval: 200, what });
}

// Frames each page decodes in the same `ms`.
async function framesTogether(pages, ms) {
  const first = await Promise.all(pages.map(async (p) => (await viewerStats(p)).framesDecoded));
  await sleep(ms);
  const last = await Promise.all(pages.map(async (p) => (await viewerStats(p)).framesDecoded));
  return last.map((f, i) => f - first[i]);
}

const worker = (s, port) => port === s.udpPort || port === s.udpPort + 1;  // two workers, TCP on the UDP numbers

// A publisher in the unblocked browser, on UDP.
async function udpPublisher(s, name) {
  const page = await publishOver(browser, s, name, { codec: 'VP8', only: 'udp' });
  await waitFor(async () => (await selectedPair(page, 'pub'))?.protocol, { what: 'the publisher to connect' });
  assert.equal((await selectedPair(page, 'pub')).protocol, 'udp');
  return page;
}

// The server's ICE-TCP connections: [{from, closed}] from its debug log.
function tcpConnections(s) {
  const log = s.log();
  return [...log.matchAll(/ice-tcp: connection from (tcp:\S+)$/gm)].map((m) => ({
    from: m[1],
    closed: log.includes(`ice-tcp: connection from ${m[1]} closed`),
  }));
}

test('the blocked browser gets no UDP through; the unblocked one does', async (t) => {
  if (block.error) {
    t.skip(`no nft block (${block.error})`);
    return;
  }
  const s = await server();
  const publisher = await udpPublisher(s, 'udpblock');
  const before = block.dropped();
  // Only the answer's UDP candidate: the blocked browser has nowhere else to go.
  const [cut, control] = await Promise.all([
    watchOver(blocked, s, 'udpblock', { only: 'udp' }),
    watchOver(browser, s, 'udpblock', { only: 'udp' }),
  ]);
  await decoded(control, 30, 'the unblocked UDP viewer to decode');
  await sleep(3000);  // the blocked one has had 4 s or more to check its pairs
  const state = await cut.evaluate(() => window.view.pc.iceConnectionState);
  const pairs = await candidatePairs(cut);
  const stats = await viewerStats(cut);
  const dropped = block.dropped();
  console.log(`blocked UDP viewer: ice ${state}, pairs ${JSON.stringify(pairs)}; nft dropped ${dropped.out - before.out} packets from the range`);
  assert.ok(!['connected', 'completed'].includes(state), `ICE ${state} through a blocked UDP range`);
  assert.equal(stats.framesDecoded, 0);
  assert.ok(pairs.length > 0, 'the blocked viewer has candidate pairs');
  for (const p of pairs) {
    assert.equal(p.protocol, 'udp');
    assert.equal(p.responsesReceived, 0, JSON.stringify(p));
    assert.notEqual(p.state, 'succeeded');
  }
  assert.ok(pairs.some((p) => p.requestsSent > 0), 'the blocked viewer sent checks');
  assert.ok(dropped.out > before.out, 'nft dropped the blocked browser\'s checks');
  // The same kind of viewer in the unblocked browser went over UDP.
  const pair = await selectedPair(control);
  assert.equal(pair?.protocol, 'udp', JSON.stringify(pair));
  assert.ok(worker(s, pair.remotePort), JSON.stringify(pair));
  await cut.evaluate(() => window.view.stop());
  await control.evaluate(() => window.view.stop());
  await publisher.evaluate(() => window.pub.stop());
});

test('(a) the blocked browser watches an unblocked publisher over ICE-TCP', async () => {
  const s = await server();
  const publisher = await udpPublisher(s, 'tcpview');
  const dropped0 = block.error ? null : block.dropped();
  const t0 = Date.now();
  const viewer = await watchOver(blocked, s, 'tcpview', { only: onlyForBlocked });
  await decoded(viewer, 0, 'a first frame over TCP');
  const firstFrame = Date.now() - t0;
  await decoded(viewer, 60, '60 frames over TCP');
  const pair = await selectedPair(viewer);
  const v = await viewerStats(viewer);
  console.log(`TCP viewer: first frame ${firstFrame} ms after watch(); pair ${JSON.stringify(pair)}; ${v.width}x${v.height}, ${v.audioPackets} audio packets`);
  assert.equal(pair?.protocol, 'tcp', JSON.stringify(pair));
  assert.equal(pair.tcpType, 'active');
  assert.equal(pair.remoteProtocol, 'tcp');
  assert.equal(pair.remoteType, 'host');
  assert.ok(worker(s, pair.remotePort), JSON.stringify(pair));
  assert.ok(v.audioPackets > 20, `audio over TCP: ${v.audioPackets} packets`);
  // With the whole answer, it tried the UDP candidate too, and the firewall stopped that.
  if (dropped0) assert.ok(block.dropped().out > dropped0.out, 'no UDP check of the blocked browser was dropped');
  const opened = tcpConnections(s);
  assert.ok(opened.length >= 1, 'the server logged the viewer\'s TCP connection');
  const [session] = (await (await fetch(`${s.url}/api/stats?stream=tcpview`)).json()).viewers;
  assert.equal(session?.connected, true, JSON.stringify(session));

  // Leaving closes its connections (the browser closes them; the server forgets them).
  await viewer.evaluate(() => window.view.stop());
  await waitFor(() => tcpConnections(s).every((c) => c.closed),
    { timeout: 10000, what: `the server to close the TCP connections of a viewer that left: ${JSON.stringify(tcpConnections(s))}` });
  await publisher.evaluate(() => window.pub.stop());
});

test('(b) the blocked browser publishes over ICE-TCP; an unblocked viewer decodes it over UDP', async () => {
  const s = await server();
  const publisher = await publishOver(blocked, s, 'tcppub', { codec: 'VP8', only: onlyForBlocked });
  const viewer = await watchOver(browser, s, 'tcppub', { only: 'udp' });
  await decoded(viewer, 60, '60 frames of a publisher on TCP');
  const pubPair = await selectedPair(publisher, 'pub');
  const viewPair = await selectedPair(viewer);
  const v = await viewerStats(viewer);
  console.log(`TCP publisher: pair ${JSON.stringify(pubPair)}; UDP viewer: pair ${JSON.stringify(viewPair)}, ${v.width}x${v.height}`);
  assert.equal(pubPair?.protocol, 'tcp', JSON.stringify(pubPair));
  assert.equal(pubPair.remoteProtocol, 'tcp');
  assert.ok(worker(s, pubPair.remotePort), JSON.stringify(pubPair));
  assert.equal(viewPair?.protocol, 'udp', JSON.stringify(viewPair));
  assert.ok(v.audioPackets > 20, `audio from a TCP publisher: ${v.audioPackets} packets`);
  const [stream] = (await (await fetch(`${s.url}/api/streams?status=live`)).json()).streams;
  assert.equal(stream?.name, 'tcppub');
  await viewer.evaluate(() => window.view.stop());
  await publisher.evaluate(() => window.pub.stop());
});

test('(c) a UDP viewer and a TCP viewer watch the same stream at once', async () => {
  const s = await server();
  const publisher = await udpPublisher(s, 'mixed');
  const [udpViewer, tcpViewer] = await Promise.all([
    watchOver(browser, s, 'mixed', { only: 'udp' }),
    watchOver(blocked, s, 'mixed', { only: onlyForBlocked }),
  ]);
  await Promise.all([decoded(udpViewer, 30, 'the UDP viewer'), decoded(tcpViewer, 30, 'the TCP viewer')]);
  const [udpFrames, tcpFrames] = await framesTogether([udpViewer, tcpViewer], 4000);
  const udpPair = await selectedPair(udpViewer);
  const tcpPair = await selectedPair(tcpViewer);
  console.log(`in the same 4 s: UDP viewer ${udpFrames} frames (rtt ${udpPair?.rtt} s), TCP viewer ${tcpFrames} frames (rtt ${tcpPair?.rtt} s)`);
  assert.equal(udpPair?.protocol, 'udp', JSON.stringify(udpPair));
  assert.equal(tcpPair?.protocol, 'tcp', JSON.stringify(tcpPair));
  // The fake camera sends 20-30 fps; a slow machine decodes fewer.
  assert.ok(udpFrames >= 40, `UDP viewer decoded ${udpFrames} frames in 4 s`);
  assert.ok(tcpFrames >= 40, `TCP viewer decoded ${tcpFrames} frames in 4 s`);
  const viewers = (await (await fetch(`${s.url}/api/stats?stream=mixed`)).json()).viewers;
  assert.equal(viewers.length, 2);
  assert.ok(viewers.every((x) => x.connected), JSON.stringify(viewers.map((x) => ({ session: x.session, connected: x.connected }))));
  await Promise.all([udpViewer, tcpViewer].map((p) => p.evaluate(() => window.view.stop())));
  await publisher.evaluate(() => window.pub.stop());
});
