// Cluster mode (REDIS_URL): three nodes on this machine and a real
// redis-server. Each node registers itself and sees the others; a node
// killed with SIGKILL leaves the list within its record's TTL (5 s); a node
// stopped with SIGTERM leaves at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { waitFor } from './lib/browser.mjs';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { startServer } from './lib/server.mjs';

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
