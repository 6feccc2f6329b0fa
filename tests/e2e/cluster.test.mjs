// Cluster mode (REDIS_URL): three nodes on this machine and a real
// redis-server. Each node registers itself and sees the others; a node
// killed with SIGKILL leaves the list within its record's TTL (5 s); a node
// stopped with SIGTERM leaves at once. A stream name belongs to the node its
// publisher is on: a second publisher on another node gets 409 naming it,
// and the name is free again when the stream ends or its node dies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

import { launchBrowser, openPage, waitFor } from './lib/browser.mjs';
import { startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { startPeerServer, startPeerStreamer } from './lib/peerjs.mjs';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { slowFactor, startServer } from './lib/server.mjs';

let redis;
const nodes = [];
before(async () => {
  if (redisMissing) return;
  redis = await startRedis();
});
after(async () => {
  for (const n of nodes) await n.stop().catch(() => {});
  await redis?.stop();
});

async function cluster(server) {
  const res = await fetch(`${server.url}/api/cluster`);
  assert.equal(res.status, 200);
  return res.json();
}

test('three nodes see each other; a killed node leaves within the TTL, a stopped one at once', { skip: redisMissing, timeout: 60000 }, async () => {
  for (let i = 1; i <= 3; ++i) {
    nodes.push(await startServer({ REDIS_URL: redis.url, NODE_ID: `node-${i}`, MEDIA_WORKERS: '1' }));
  }
  const [n1, n2, n3] = nodes;
  await waitFor(async () => (await cluster(n3)).nodes.length === 3 && (await cluster(n2)).nodes.length === 3,
    { timeout: 10000, what: 'three nodes listed on nodes 2 and 3' });
  const view = await cluster(n3);
  assert.equal(view.self, 'node-3');
  assert.equal(view.redis_reachable, true);
  assert.deepEqual(view.nodes.map((n) => n.id), ['node-1', 'node-2', 'node-3']);
  const one = view.nodes[0];
  assert.equal(one.url, `http://127.0.0.1:${n1.port}`, 'NODE_URL defaults to the first PUBLIC_IP and PORT');
  assert.ok(one.media.includes(`127.0.0.1:${n1.udpPort}`), JSON.stringify(one.media));
  assert.equal(one.self, false);
  assert.equal(view.nodes[2].self, true);
  for (const n of view.nodes) {
    assert.equal(typeof n.peers, 'number');
    assert.equal(typeof n.streams, 'number');
    assert.ok(n.cpu >= 0 && n.cpu <= 1);
  }
  assert.match(n1.log(), /cluster: node 'node-1' registered/);

  // kill -9: no goodbye; the record expires.
  const killedAt = Date.now();
  n1.child.kill('SIGKILL');
  // Each node re-reads the list every second: both must see it go.
  const ids = async (n) => (await cluster(n)).nodes.map((x) => x.id).join(' ');
  await waitFor(async () => await ids(n2) === 'node-2 node-3' && await ids(n3) === 'node-2 node-3',
    { timeout: 10000, what: 'node-1 to leave the lists of node 2 and node 3' });
  const gone = (Date.now() - killedAt) / 1000;
  assert.ok(gone >= 3, `node-1 stayed listed until its record expired, not ${gone.toFixed(1)} s`);
  assert.ok(gone <= 7, `node-1 left after ${gone.toFixed(1)} s`);

  // SIGTERM: the node withdraws as it starts draining.
  const stoppedAt = Date.now();
  const stopping = n2.stop();
  await waitFor(async () => await ids(n3) === 'node-3', { timeout: 4000, what: 'node-2 to leave at once' });
  assert.ok(Date.now() - stoppedAt < 4000);
  await stopping;
  assert.match(n2.log(), /cluster: node 'node-2' left the cluster/);
});

// Publishes `name` from a page of `server`; resolves to 'ok' or the error's text.
async function tryPublish(page, name) {
  return page.evaluate(async (name) => {
    try {
      window.pub = await window.lss.publish(name);
      return 'ok';
    } catch (e) {
      return e.message;
    }
  }, name);
}

test('a stream belongs to its publisher\'s node: 409 elsewhere, free again when it ends or its node dies; apps on every node hear of it', { skip: redisMissing, timeout: 90000 }, async () => {
  const r = await startRedis();
  const started = [];
  const browser = await launchBrowser();
  let app;
  try {
    for (let i = 1; i <= 2; ++i) {
      started.push(await startServer({ REDIS_URL: r.url, NODE_ID: `lease-${i}`, MEDIA_WORKERS: '1', CLUSTER_VIEWERS: 'redirect' }));
    }
    const [a, b] = started;
    await waitFor(async () => (await cluster(b)).nodes.length === 2, { timeout: 10000, what: 'both nodes listed' });
    // An app on node 2 hears of streams on node 1 (Redis pub/sub).
    app = io(b.url, { reconnection: false, timeout: 5000 });
    await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
    const heard = [];
    for (const ev of ['stream-started', 'stream-ended']) app.on(ev, (d) => heard.push({ ev, ...d }));
    await startPublisher(browser, a, 'cam');
    await waitFor(() => heard.some((h) => h.ev === 'stream-started' && h.streamId === 'cam'), { timeout: 5000, what: "node 2's app to hear of 'cam' starting on node 1" });
    // Every node lists every live stream, with the node it is on.
    const liveOn = async (n) => (await (await fetch(`${n.url}/api/streams?status=live`)).json()).streams;
    await waitFor(async () => (await liveOn(b)).some((x) => x.name === 'cam'), { timeout: 5000, what: "'cam' listed on lease-2" });
    const [remote] = (await liveOn(b)).filter((x) => x.name === 'cam');
    assert.equal(remote.node, 'lease-1');
    assert.equal(remote.node_url, `http://127.0.0.1:${a.port}`);
    assert.equal(remote.status, 'live');
    assert.match(remote.id, /^[0-9a-f]+$/);
    const [local] = (await liveOn(a)).filter((x) => x.name === 'cam');
    assert.equal(local.node, 'lease-1');
    assert.equal(local.id, remote.id);
    // The catalog's view (no status filter) carries the node too.
    const all = (await (await fetch(`${a.url}/api/streams`)).json()).streams;
    assert.equal(all.find((x) => x.id === local.id)?.node, 'lease-1');
    // A viewer on the other node is sent to the stream's node (307) and decodes.
    const offer = await (await openPage(browser, b)).evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription.sdp;
    });
    const redirect = await fetch(`${b.url}/whep/cam?maxLayer=1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer, redirect: 'manual' });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get('location'), `http://127.0.0.1:${a.port}/whep/cam?maxLayer=1`);
    assert.equal(redirect.headers.get('access-control-allow-origin'), '*');
    const viewer = await startViewer(browser, b, 'cam');
    await waitFor(async () => (await viewerStats(viewer)).framesDecoded >= 20, { timeout: 15000, what: 'the redirected viewer decoding' });
    assert.match(await viewer.evaluate(() => window.view.location), new RegExp(`^http://127\\.0\\.0\\.1:${a.port}/whep/cam/`));
    await viewer.evaluate(() => window.view.stop());
    // The built-in page on node 2 lists it with its node; Watch plays it.
    const ui = await browser.newPage();
    await ui.goto(`${b.url}/`);
    const row = ui.locator('#live-list li[data-stream="cam"]');
    await row.locator('.node').filter({ hasText: 'on lease-1' }).waitFor({ timeout: 10000 });
    await row.locator('button.watch').click();
    await ui.waitForFunction(() => {
      const v = document.querySelector('#players video');
      return v && v.videoWidth > 0 && v.currentTime > 0.5;
    }, null, { timeout: 15000 });
    await ui.close();
    // A name live nowhere is still 404 there.
    const nowhere = await fetch(`${b.url}/whep/nothing`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer, redirect: 'manual' });
    assert.equal(nowhere.status, 404);
    // The same name on the other node: refused, naming the owner.
    const other = await openPage(browser, b);
    const refused = await tryPublish(other, 'cam');
    assert.match(refused, /^409 .*stream 'cam' is live on node 'lease-1' \(http:\/\/127\.0\.0\.1:\d+\)/, refused);
    // Other names are free anywhere.
    assert.equal(await tryPublish(other, 'cam2'), 'ok');
    await other.evaluate(() => window.pub.stop());

    // The publisher stops: the name is free at once, on any node.
    const pubPage = browser.contexts()[0].pages()[0];
    await pubPage.evaluate(() => window.pub.stop());
    await waitFor(() => heard.some((h) => h.ev === 'stream-ended' && h.streamId === 'cam'), { timeout: 5000, what: "node 2's app to hear of 'cam' ending" });
    // Its own node's events reach it once, not again through Redis.
    assert.equal(heard.filter((h) => h.ev === 'stream-started' && h.streamId === 'cam2').length, 1);
    await waitFor(async () => (await tryPublish(other, 'cam')) === 'ok', { timeout: 5000, interval: 300, what: "'cam' free on lease-2 after its end" });

    // Now lease-2 owns it; kill -9 of lease-2 frees it within the lease's TTL.
    assert.match(await tryPublish(pubPage, 'cam'), /^409 .*lease-2/);
    const killedAt = Date.now();
    b.child.kill('SIGKILL');
    await waitFor(async () => (await tryPublish(pubPage, 'cam')) === 'ok', { timeout: 12000, interval: 500, what: "'cam' free on lease-1 after lease-2 died" });
    const freed = (Date.now() - killedAt) / 1000;
    assert.ok(freed <= 8, `the dead node's name was free after ${freed.toFixed(1)} s`);
  } finally {
    app?.close();
    await browser.close();
    for (const n of started) await n.stop().catch(() => {});
    await r.stop();
  }
});

test('relay: viewers on any node are served there from one pull of the stream per node; kill -9 of its node ends them within 10 s', { skip: redisMissing, timeout: 120000 * slowFactor }, async () => {
  const r = await startRedis();
  const started = [];
  const browser = await launchBrowser();
  try {
    for (let i = 1; i <= 3; ++i) {
      started.push(await startServer({ REDIS_URL: r.url, NODE_ID: `relay-${i}`, MEDIA_WORKERS: i === 2 ? '2' : '1', CLUSTER_SECRET: 'node-secret' }));
    }
    const [n1, n2, n3] = started;
    await waitFor(async () => (await cluster(n3)).nodes.length === 3, { timeout: 10000, what: 'three nodes listed' });
    await startPublisher(browser, n1, 'cam');
    const liveOn = async (n) => (await (await fetch(`${n.url}/api/streams?status=live`)).json()).streams;
    await waitFor(async () => (await liveOn(n3)).some((x) => x.name === 'cam'), { timeout: 5000, what: "'cam' listed on relay-3" });

    // Two viewers on node 2, one on node 3: each plays from its own node.
    const viewers = [await startViewer(browser, n2, 'cam'), await startViewer(browser, n2, 'cam'), await startViewer(browser, n3, 'cam')];
    const homes = [n2, n2, n3];
    for (let i = 0; i < viewers.length; ++i) {
      await waitFor(async () => (await viewerStats(viewers[i])).framesDecoded >= 30, { timeout: 20000 * slowFactor, what: `viewer ${i + 1} decoding through its node` });
      const location = await viewers[i].evaluate(() => window.view.location);
      assert.ok(location.startsWith(`${homes[i].url}/whep/cam/`) || location.startsWith('/whep/cam/'), `viewer ${i + 1} at ${location}`);
    }
    // The origin serves one pull per node, not one session per viewer: two
    // viewer peers there.
    const viewerPeers = async (n) => Number(/^lss_peers\{role="viewer"\} (\d+)$/m.exec(await (await fetch(`${n.url}/metrics`)).text())[1]);
    await waitFor(async () => (await viewerPeers(n1)) === 2, { timeout: 5000, what: 'two viewer peers (the pulls) on relay-1' });
    // The stream is listed once, on its own node, wherever it is relayed,
    // with its whole audience (the pulls are not viewers).
    for (const n of [n1, n2, n3]) {
      await waitFor(async () => (await liveOn(n)).find((x) => x.name === 'cam')?.viewers === 3,
        { timeout: 5000, what: `three viewers of 'cam' seen from ${n.url}` });
      const rows = (await liveOn(n)).filter((x) => x.name === 'cam');
      assert.equal(rows.length, 1, JSON.stringify(rows));
      assert.equal(rows[0].node, 'relay-1');
    }
    // Its LL-HLS is its own node's: other nodes send players (or a CDN) there.
    const hls = await fetch(`${n3.url}/hls/cam/index.m3u8?_HLS_msn=3`, { redirect: 'manual' });
    assert.equal(hls.status, 307);
    assert.equal(hls.headers.get('location'), `http://127.0.0.1:${n1.port}/hls/cam/index.m3u8?_HLS_msn=3`);
    assert.equal((await fetch(`${n3.url}/hls/nothing/index.m3u8`, { redirect: 'manual' })).status, 404);
    // Publishing the name on a relaying node is still refused.
    const other = await openPage(browser, n2);
    assert.match(await tryPublish(other, 'cam'), /^409 .*live on node 'relay-1'/);

    // kill -9 of the origin: every viewer sees the end within 10 s.
    const killedAt = Date.now();
    n1.child.kill('SIGKILL');
    for (let i = 0; i < viewers.length; ++i) {
      await waitFor(() => viewers[i].evaluate(() => window.view.ended()), { timeout: 15000 * slowFactor, interval: 200, what: `viewer ${i + 1} to see the end` });
    }
    const seen = (Date.now() - killedAt) / 1000;
    console.log(`# relay: every viewer saw the end ${seen.toFixed(1)} s after kill -9 of the origin`);
    assert.ok(seen <= 10 * slowFactor, `the viewers saw the end ${seen.toFixed(1)} s after the kill`);
  } finally {
    await browser.close();
    for (const n of started) await n.stop().catch(() => {});
    await r.stop();
  }
});

test('the original app\'s start-stream claims its name in the cluster too', { skip: redisMissing, timeout: 90000 }, async () => {
  const r = await startRedis();
  const peerServer = await startPeerServer();
  const started = [];
  const browser = await launchBrowser();
  let app;
  try {
    const peerEnv = { PEER_HOST: '127.0.0.1', PEER_PORT: String(peerServer.port), REDIS_URL: r.url, MEDIA_WORKERS: '1' };
    started.push(await startServer({ ...peerEnv, NODE_ID: 'pj-1' }));
    started.push(await startServer({ ...peerEnv, NODE_ID: 'pj-2' }));
    const [a, b] = started;
    await waitFor(async () => (await cluster(b)).nodes.length === 2, { timeout: 10000, what: 'both nodes listed' });
    app = io(b.url, { reconnection: false, timeout: 5000 });
    await new Promise((resolve, reject) => { app.on('connect', resolve); app.on('connect_error', reject); });
    const errors = [];
    app.on('stream-error', (e) => errors.push(e));

    // A WHIP stream on node 1: start-stream of its name on node 2 is refused.
    await startPublisher(browser, a, 'cam');
    const refused = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'streamer-x', streamId: 'cam' });
    assert.match(refused.error ?? '', /stream 'cam' is live on node 'pj-1'/, JSON.stringify(refused));
    assert.ok(errors.some((e) => e.streamId === 'cam' && /live on node 'pj-1'/.test(e.message)));

    // A PeerJS stream started on node 2 owns its name: WHIP on node 1 gets 409.
    await startPeerStreamer(browser, b, peerServer, 'streamer-two');
    const ok = await app.timeout(10000).emitWithAck('start-stream', { peerId: 'streamer-two', streamId: 'peercam' });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    await waitFor(async () => {
      const { streams } = await (await fetch(`${b.url}/api/streams?status=live`)).json();
      return streams.some((s) => s.name === 'peercam');
    }, { timeout: 15000, what: 'peercam live on node 2' });
    const whip = await openPage(browser, a);
    assert.match(await tryPublish(whip, 'peercam'), /^409 .*stream 'peercam' is live on node 'pj-2'/);
  } finally {
    if (process.env.LSS_E2E_LOGS) for (const n of started) console.log(n.log());
    app?.close();
    await browser.close();
    for (const n of started) await n.stop().catch(() => {});
    await peerServer.stop();
    await r.stop();
  }
});

test('a full node sends new publishers to the least-loaded node (307)', { skip: redisMissing, timeout: 60000 }, async () => {
  const r = await startRedis();
  const started = [];
  const browser = await launchBrowser();
  try {
    started.push(await startServer({ REDIS_URL: r.url, NODE_ID: 'full', CLUSTER_MAX_PEERS: '1', MEDIA_WORKERS: '1' }));
    started.push(await startServer({ REDIS_URL: r.url, NODE_ID: 'roomy', MEDIA_WORKERS: '1' }));
    const [full, roomy] = started;
    await waitFor(async () => (await cluster(full)).nodes.length === 2, { timeout: 10000, what: 'both nodes listed' });
    await startPublisher(browser, full, 'first');
    // Its next announcement says it has its one peer.
    await waitFor(async () => (await cluster(full)).nodes.find((n) => n.id === 'full')?.peers >= 1, { timeout: 5000, what: 'the full node announcing its peer' });
    const res = await fetch(`${full.url}/whip/second?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n', redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get('location'), `http://127.0.0.1:${roomy.port}/whip/second?x=1`);
    assert.match(await res.text(), /this node is full/);
    // A browser follows it and publishes on the roomy node.
    const page = await openPage(browser, full);
    assert.equal(await tryPublish(page, 'second'), 'ok');
    assert.match(await page.evaluate(() => window.pub.location ?? ''), new RegExp(`^http://127\\.0\\.0\\.1:${roomy.port}/whip/second/`));
    const live = (await (await fetch(`${full.url}/api/streams?status=live`)).json()).streams;
    await waitFor(async () => {
      const streams = (await (await fetch(`${full.url}/api/streams?status=live`)).json()).streams;
      return streams.find((x) => x.name === 'second')?.node === 'roomy';
    }, { timeout: 5000, what: "'second' listed on node roomy" });
    assert.ok(live.some((x) => x.name === 'first' && x.node === 'full'));
    assert.match(full.log(), /whip: publisher of 'second' sent to http:\/\/127\.0\.0\.1:\d+ \(this node is over its load\)/);
  } finally {
    await browser.close();
    for (const n of started) await n.stop().catch(() => {});
    await r.stop();
  }
});

test('a Redis outage is one log line; the node is back in the list when Redis is', { skip: redisMissing, timeout: 60000 }, async () => {
  const r = await startRedis();
  let r2;
  const node = await startServer({ REDIS_URL: r.url, NODE_ID: 'lonely' });
  try {
    await waitFor(async () => (await cluster(node)).redis_reachable, { timeout: 5000, what: 'registered' });
    await r.stop();
    await waitFor(async () => !(await cluster(node)).redis_reachable, { timeout: 5000, what: 'the outage noticed' });
    await new Promise((res) => setTimeout(res, 3000));
    const warnings = node.log().split('\n').filter((l) => l.includes('cluster: redis')).length;
    assert.equal(warnings, 1, 'one line for the outage, not one a second');
    assert.equal((await fetch(`${node.url}/healthz`)).status, 200, 'the node keeps serving');
    // Redis is back (empty, as after a restart without persistence): the
    // node's next announcement puts it back.
    r2 = await startRedis(r.port);
    await waitFor(async () => {
      const c = await cluster(node);
      return c.redis_reachable && c.nodes.some((n) => n.id === 'lonely');
    }, { timeout: 5000, what: 'the node back in the list' });
    assert.match(node.log(), /cluster: node 'lonely' reaches redis again/);
  } finally {
    await node.stop();
    await r.stop();
    await r2?.stop();
  }
});

test('without REDIS_URL there is no cluster', async () => {
  const node = await startServer({});
  try {
    const res = await fetch(`${node.url}/api/cluster`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /REDIS_URL/);
  } finally {
    await node.stop();
  }
});
