// Limits on what one client or one stream can take: session requests per
// client address a second and open at once (429 with Retry-After, loopback
// not limited), viewers per stream (503 with Retry-After), each from its
// setting.
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { after, before, test } from 'node:test';

import { launchBrowser, openPage, waitFor } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

const IPV6 = 'fd00:6c73::2';  // on v0 in the test's network namespace (scripts/run-e2e.sh)
const haveIpv6 = Object.values(os.networkInterfaces()).flat().some((i) => i && i.address === IPV6);

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

function post(host, port, path, body, localAddress, method = 'POST') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, localAddress, headers: { 'content-type': 'application/sdp' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('SESSION_RATE: a client address past its burst gets 429 with Retry-After; loopback and other clients are not held back',
  { skip: !haveIpv6 && `no ${IPV6} here (run through scripts/run-e2e.sh)` }, async () => {
    const server = await startServer({ LISTEN_ADDRESS: '::', SESSION_RATE: '1', SESSION_BURST: '3' });
    try {
      const statuses = [];
      let refused;
      for (let i = 0; i < 6; ++i) {
        const r = await post(IPV6, server.port, '/whep/nothere', 'v=0\r\n', IPV6);
        statuses.push(r.status);
        if (r.status === 429) refused = r;
      }
      // The first three are looked at (no such stream: 404); then 429.
      assert.deepEqual(statuses.slice(0, 3), [404, 404, 404], statuses.join(' '));
      assert.ok(statuses.slice(3).every((s) => s === 429), statuses.join(' '));
      assert.match(refused.headers['retry-after'], /^[1-9]\d*$/);
      assert.match(refused.body, /too many session requests/);
      // Loopback (a reverse proxy, this machine's tools) is not limited.
      for (let i = 0; i < 10; ++i) assert.equal((await post('127.0.0.1', server.port, '/whep/nothere', 'v=0\r\n')).status, 404);
      // After the wait, the address gets in again.
      await new Promise((r) => setTimeout(r, Number(refused.headers['retry-after']) * 1000 + 100));
      assert.equal((await post(IPV6, server.port, '/whep/nothere', 'v=0\r\n', IPV6)).status, 404);
      // Three refusals within seconds: one log line, not one each.
      assert.equal(server.log().split('\n').filter((l) => l.includes('over SESSION_RATE: 429')).length, 1);
    } finally {
      await server.stop();
    }
  });

test('MAX_VIEWERS_PER_STREAM: the viewer past the limit gets 503 with Retry-After; the others play', { timeout: 90000 }, async () => {
  const server = await startServer({ MAX_VIEWERS_PER_STREAM: '1' });
  const pages = [];
  try {
    const pub = await startPublisher(browser, server, 'fullcam', 'VP8');
    const v1 = await startViewer(browser, server, 'fullcam');
    pages.push(pub, v1);
    await expectDecoding(v1, pub);
    const page = await openPage(browser, server);
    pages.push(page);
    const res = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      const r = await fetch('/whep/fullcam', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
      pc.close();
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() };
    });
    assert.equal(res.status, 503, JSON.stringify(res));
    assert.equal(res.retryAfter, '5');
    assert.match(res.body, /limit of 1 viewers/);
    await expectDecoding(v1, pub);
    // The viewer leaves: the place is free again.
    await v1.evaluate(() => window.view.stop());
    await waitFor(async () => (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams.find((s) => s.name === 'fullcam')?.viewers === 0,
      { timeout: 10000, what: 'the viewer to leave' });
    const v2 = await startViewer(browser, server, 'fullcam');
    pages.push(v2);
    await expectDecoding(v2, pub);
  } finally {
    for (const p of pages) await p.close().catch(() => {});
    await server.stop();
  }
});

test('SESSIONS_PER_IP: an address with that many sessions open gets 429 until one ends; loopback is not counted',
  { skip: !haveIpv6 && `no ${IPV6} here (run through scripts/run-e2e.sh)`, timeout: 90000 }, async () => {
    const server = await startServer({ LISTEN_ADDRESS: '::', SESSIONS_PER_IP: '2', CONSENT_TIMEOUT: '8' });
    const pages = [];
    try {
      const pub = await startPublisher(browser, server, 'crowd', 'VP8');
      pages.push(pub);
      // A real viewer's offer (Chromium's), sent from the other address.
      const page = await openPage(browser, server);
      pages.push(page);
      const offer = await page.evaluate(async () => {
        const pc = new RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'recvonly' });
        pc.addTransceiver('audio', { direction: 'recvonly' });
        await pc.setLocalDescription(await pc.createOffer());
        return pc.localDescription.sdp;
      });
      const first = await post(IPV6, server.port, '/whep/crowd', offer, IPV6);
      const second = await post(IPV6, server.port, '/whep/crowd', offer, IPV6);
      assert.equal(first.status, 201, first.body);
      assert.equal(second.status, 201, second.body);
      const third = await post(IPV6, server.port, '/whep/crowd', offer, IPV6);
      assert.equal(third.status, 429, third.body);
      assert.match(third.headers['retry-after'], /^[1-9]\d*$/);
      assert.match(third.body, /2 sessions open/);
      // Loopback (a reverse proxy, this machine's tools) is not counted.
      assert.equal((await post('127.0.0.1', server.port, '/whep/crowd', offer)).status, 201);
      // The address ends one session: its place is free at once.
      const gone = await post(IPV6, server.port, first.headers.location, '', IPV6, 'DELETE');
      assert.equal(gone.status, 200, gone.body);
      const again = await post(IPV6, server.port, '/whep/crowd', offer, IPV6);
      assert.equal(again.status, 201, again.body);
      assert.match(server.log(), /whip\/whep: refused a session from \[fd00:6c73::2\]:\d+: 2 sessions open from fd00:6c73::\/64 \(SESSIONS_PER_IP=2\)/);
      // Sessions that never connect end at the consent timeout and free
      // their places as well (the admin API lists what is open).
      await waitFor(async () => {
        const r = await post(IPV6, server.port, '/whep/crowd', offer, IPV6);
        if (r.status === 201) await post(IPV6, server.port, r.headers.location, '', IPV6, 'DELETE');
        return r.status === 201;
      }, { timeout: 30000, interval: 1000, what: 'the silent sessions to time out' });
    } finally {
      for (const p of pages) await p.close().catch(() => {});
      await server.stop();
    }
  });
