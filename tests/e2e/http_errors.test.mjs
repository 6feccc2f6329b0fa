// WHIP/WHEP error statuses, CORS, limits and stream-name validation over real HTTP.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { repoRoot, startServer } from './lib/server.mjs';

const offer = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chrome_publish_offer.sdp'), 'utf8');
const viewOffer = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chrome_view_offer.sdp'), 'utf8');
const sdpHeaders = { 'Content-Type': 'application/sdp' };

let open, keyed;
before(async () => {
  open = await startServer();
  keyed = await startServer({ STREAM_KEY: 's3cret-key' });
});
after(async () => {
  await open?.stop();
  await keyed?.stop();
});

const post = (server, p, body, headers = sdpHeaders) => fetch(`${server.url}${p}`, { method: 'POST', headers, body });

test('publishing needs the stream key when one is set', async () => {
  let res = await post(keyed, '/whip/k1', offer);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  assert.match(await res.text(), /missing stream key/);
  res = await post(keyed, '/whip/k1', offer, { ...sdpHeaders, Authorization: 'Bearer wrong' });
  assert.equal(res.status, 401);
  assert.match(await res.text(), /wrong stream key/);
  res = await post(keyed, '/whip/k1', offer, { ...sdpHeaders, Authorization: 'Bearer s3cret-key' });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('content-type'), 'application/sdp');
  const location = res.headers.get('location');
  assert.match(location, /^\/whip\/k1\/[0-9a-f]+$/);
  // Deleting needs the key too.
  assert.equal((await fetch(`${keyed.url}${location}`, { method: 'DELETE' })).status, 401);
  const del = await fetch(`${keyed.url}${location}`, { method: 'DELETE', headers: { Authorization: 'Bearer s3cret-key' } });
  assert.equal(del.status, 200);
  const gone = await fetch(`${keyed.url}${location}`, { method: 'DELETE', headers: { Authorization: 'Bearer s3cret-key' } });
  assert.equal(gone.status, 404);
});

test('malformed SDP is a 400 with the reason', async () => {
  let res = await post(open, '/whip/bad', 'this is not sdp');
  assert.equal(res.status, 400);
  assert.match(await res.text(), /malformed SDP offer: line 1/);
  res = await post(open, '/whip/bad', 'v=0\r\nm=video x\r\n');
  assert.equal(res.status, 400);
  assert.match(await res.text(), /line 2/);
  res = await post(open, '/whip/bad', viewOffer);  // recvonly: nothing to publish
  assert.equal(res.status, 400);
});

test('oversized bodies are a 413, oversized headers a 431, wrong content types a 415', async () => {
  const big = 'v=0\r\n' + 'a=x\r\n'.repeat(14 * 1024);  // 70 KiB
  let res = await post(open, '/whip/big', big);
  assert.equal(res.status, 413);
  res = await post(open, '/whip/ct', offer, { 'Content-Type': 'text/plain' });
  assert.equal(res.status, 415);
  // Headers are held to 16 KiB: 431, and the server goes on.
  res = await fetch(`${open.url}/healthz`, { headers: { 'X-Padding': 'p'.repeat(20 * 1024) } });
  assert.equal(res.status, 431);
  assert.equal((await fetch(`${open.url}/healthz`)).status, 200);
});

test('unknown streams and sessions are 404, a second publisher is 409', async () => {
  let res = await post(open, '/whep/nobody', viewOffer);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /not live/);
  res = await post(open, '/whip/dup', offer);
  assert.equal(res.status, 201);
  const location = res.headers.get('location');
  res = await post(open, '/whip/dup', offer);
  assert.equal(res.status, 409);
  assert.match(await res.text(), /already live/);
  res = await post(open, '/whep/dup', viewOffer);
  assert.equal(res.status, 201);  // a viewer of a (not yet connected) stream is fine
  assert.equal((await fetch(`${open.url}/whep/dup/0123456789abcdef`, { method: 'DELETE' })).status, 404);
  assert.equal((await fetch(`${open.url}${location}`, { method: 'DELETE' })).status, 200);
});

test('stream names are validated', async () => {
  for (const name of ['..%2Fx', 'a%20b', 'x'.repeat(65), 'a.b', '%00']) {
    const res = await post(open, `/whip/${name}`, offer);
    assert.equal(res.status, 400, name);
    assert.match(await res.text(), /invalid stream name/);
  }
  const res = await fetch(`${open.url}/whip/../etc/passwd`, { method: 'POST', headers: sdpHeaders, body: offer });
  assert.notEqual(res.status, 201);
});

test('CORS preflight and other methods', async () => {
  let res = await fetch(`${open.url}/whip/cors`, { method: 'OPTIONS' });
  assert.ok(res.status === 204 || res.status === 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-methods'), /POST/);
  assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
  assert.match(res.headers.get('access-control-expose-headers'), /Location/);
  res = await fetch(`${open.url}/whip/cors`, { method: 'GET' });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow'), /POST/);
  res = await post(open, '/whip/cors', offer);
  assert.match(res.headers.get('access-control-expose-headers'), /Location/);
  const loc = res.headers.get('location');
  const etag = res.headers.get('etag');  // PATCH details: ice.test.mjs
  res = await fetch(`${open.url}${loc}`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': etag }, body: 'a=end-of-candidates\r\n' });
  assert.equal(res.status, 204);
  await fetch(`${open.url}${loc}`, { method: 'DELETE' });
});

test('health, the page and the stream list', async () => {
  assert.equal((await fetch(`${open.url}/healthz`)).status, 200);
  const page = await fetch(`${open.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /live-stream-server/);
  assert.equal((await fetch(`${open.url}/../../etc/passwd`)).status, 404);
  const list = await (await fetch(`${open.url}/api/streams`)).json();
  assert.ok(Array.isArray(list.streams));
});
