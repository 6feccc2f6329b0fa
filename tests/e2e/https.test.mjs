// HTTPS and WSS on the HTTP port (TLS_CERT/TLS_KEY), the plain-HTTP
// redirect port (HTTP_REDIRECT_PORT, with ACME_WEBROOT), the page's word on
// insecure contexts, and certificate reloads on SIGHUP and on file changes.
//
// The test makes its own PKI with the openssl CLI: a root CA, an
// intermediate CA, and leaves for live.test signed by the intermediate,
// laid out as certbot does (live/*.pem are symlinks into archive/, the
// certificate file is the full chain). Chromium resolves live.test to
// 127.0.0.1 (--host-resolver-rules) and trusts the chain by SPKI pinning:
// --ignore-certificate-errors-spki-list with the intermediate CA's SPKI
// hash (the intermediate goes out in every handshake, so every leaf it signs
// is accepted; no ignoreHTTPSErrors). Node clients trust the root CA (`ca`)
// and resolve live.test with an Agent's `lookup`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { freeTcpPort, startServer } from './lib/server.mjs';

const HOST = 'live.test';
let dir, rootCa, spki, redirectPort, server, plain, browser;
const f = (...p) => path.join(dir, ...p);

function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EXTENSIONS = `[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${HOST}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function makeCa() {
  fs.writeFileSync(f('ext.cnf'), EXTENSIONS);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('root.key'), '-out', f('root.pem'), '-days', '2',
    '-subj', '/CN=LSS e2e Root CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', f('int.key'), '-out', f('int.csr'), '-subj', '/CN=LSS e2e Intermediate CA');
  openssl('x509', '-req', '-in', f('int.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-set_serial', '2',
    '-days', '2', '-extfile', f('ext.cnf'), '-extensions', 'ca', '-out', f('int.pem'));
}

// archive/fullchain<n>.pem and archive/privkey<n>.pem: a new key and a leaf
// for live.test with serial `serial` (hex), as a certbot renewal writes them.
function makeLeaf(n, serial) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('archive', `privkey${n}.pem`), '-out', f(`leaf${n}.csr`), '-subj', `/CN=${HOST}`);
  openssl('x509', '-req', '-in', f(`leaf${n}.csr`), '-CA', f('int.pem'), '-CAkey', f('int.key'),
    '-set_serial', `0x${serial}`, '-days', '2', '-extfile', f('ext.cnf'), '-extensions', 'leaf',
    '-out', f(`leaf${n}.pem`));
  fs.writeFileSync(f('archive', `fullchain${n}.pem`), fs.readFileSync(f(`leaf${n}.pem`), 'utf8') + fs.readFileSync(f('int.pem'), 'utf8'));
}

// Points live/<name>.pem at archive/<name><n>.pem at once (a rename, as certbot does).
function pointLive(name, n) {
  const tmp = f('live', `${name}.tmp`);
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(`../archive/${name}${n}.pem`, tmp);
  fs.renameSync(tmp, f('live', `${name}.pem`));
}

// live.test is 127.0.0.1 for node's clients too.
function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const address = hostname === HOST ? '127.0.0.1' : hostname;
  if (options && options.all) return cb(null, [{ address, family: 4 }]);
  return cb(null, address, 4);
}
const agent = () => new https.Agent({ ca: rootCa, lookup, keepAlive: false });

function httpsGet(port, pathname) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: HOST, port, path: pathname, agent: agent() }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

// The serial of the certificate a new TLS connection gets (verified against
// the root CA for live.test, TLS 1.2 or 1.3).
function peerSerial(port) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: rootCa }, () => {
      const cert = s.getPeerCertificate();
      const out = { serial: cert.serialNumber, protocol: s.getProtocol() };
      s.end();
      resolve(out);
    });
    s.on('error', reject);
  });
}

// One TLS connection kept open across reloads: GET /healthz on it, any time.
async function keptConnection(port) {
  const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: rootCa });
  await new Promise((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); });
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d) => { buf += d; });
  return {
    serial: s.getPeerCertificate().serialNumber,
    async get() {
      buf = '';
      s.write(`GET /healthz HTTP/1.1\r\nHost: ${HOST}:${port}\r\n\r\n`);
      await waitFor(() => /\r\n\r\nok\n$/.test(buf) || s.destroyed, { timeout: 5000, what: 'a response on the kept connection' });
      return buf;
    },
    close() { s.destroy(); },
  };
}

async function openUi(url) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.lss !== undefined);
  return page;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-https-'));
  fs.mkdirSync(f('archive'));
  fs.mkdirSync(f('live'));
  fs.mkdirSync(f('acme', '.well-known', 'acme-challenge'), { recursive: true });
  makeCa();
  for (const [n, serial] of [[1, '1001'], [2, '2002'], [3, '3003']]) makeLeaf(n, serial);
  pointLive('fullchain', 1);
  pointLive('privkey', 1);
  rootCa = fs.readFileSync(f('root.pem'));
  spki = crypto.createHash('sha256')
    .update(new crypto.X509Certificate(fs.readFileSync(f('int.pem'))).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  redirectPort = await freeTcpPort();
  server = await startServer({
    TLS_CERT: f('live', 'fullchain.pem'),
    TLS_KEY: f('live', 'privkey.pem'),
    HTTP_REDIRECT_PORT: String(redirectPort),
    ACME_WEBROOT: f('acme'),
  }, { healthz: async (port) => (await httpsGet(port, '/healthz')).status });
  plain = await startServer();
  browser = await launchBrowser([
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${spki}`,
  ]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await plain?.stop();
  if (process.exitCode && server) console.log(server.log());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('https://live.test: the page publishes the camera and a second tab watches it', { timeout: 60000 }, async () => {
  const url = `https://${HOST}:${server.port}/`;
  const pub = await openUi(url);
  assert.equal(await pub.evaluate(() => window.isSecureContext), true);
  await pub.fill('#pub-name', 'tlscam');
  await pub.click('#pub-start');
  await waitFor(async () => /Live as/.test(await pub.textContent('#pub-status')), { timeout: 15000, what: 'the page to publish' });

  const viewer = await openUi(url);
  await viewer.fill('#watch-name', 'tlscam');
  await viewer.click('#watch-form button[type=submit]');
  const frames = () => viewer.evaluate(() => {
    const v = document.querySelector('#players video');
    return v && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  });
  await waitFor(async () => (await frames()) > 30, { timeout: 20000, what: '30 decoded frames in the watching tab' });
  const live = await viewer.evaluate(async () => (await window.lss.liveStreams()).map((s) => [s.name, s.viewers]));
  assert.deepEqual(live, [['tlscam', 1]]);
  await pub.click('#pub-stop');
  await pub.close();
  await viewer.close();
});

test('plain HTTP: the redirect port answers 301/308 to https://, the HTTPS port says it speaks HTTPS', async () => {
  // fetch sends its own Host (127.0.0.1:<port>), which is where it is sent back to.
  let res = await fetch(`http://127.0.0.1:${redirectPort}/api/streams?status=live&x=%20`, { redirect: 'manual' });
  assert.equal(res.status, 301);
  assert.equal(res.headers.get('location'), `https://127.0.0.1:${server.port}/api/streams?status=live&x=%20`);
  res = await fetch(`http://127.0.0.1:${redirectPort}/whip/cam1`, { method: 'POST', body: 'v=0', redirect: 'manual' });
  assert.equal(res.status, 308, 'a POST keeps its method and body');
  assert.equal(res.headers.get('location'), `https://127.0.0.1:${server.port}/whip/cam1`);
  // The Host header's name is kept.
  const viaHost = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: redirectPort, path: '/socket.io/?EIO=4', headers: { Host: `${HOST}:${redirectPort}` } },
      (r) => { r.resume(); resolve(r); }).on('error', reject);
  });
  assert.equal(viaHost.statusCode, 301);
  assert.equal(viaHost.headers.location, `https://${HOST}:${server.port}/socket.io/?EIO=4`);
  // ACME http-01 challenges are served over plain HTTP from ACME_WEBROOT.
  fs.writeFileSync(f('acme', '.well-known', 'acme-challenge', 'tok-123'), 'tok-123.thumbprint');
  res = await fetch(`http://127.0.0.1:${redirectPort}/.well-known/acme-challenge/tok-123`, { redirect: 'manual' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'tok-123.thumbprint');
  // Plain HTTP on the HTTPS port gets a word, not a reset.
  res = await fetch(`http://127.0.0.1:${server.port}/`, { redirect: 'manual' });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /speaks HTTPS/);

  // A browser that types http://live.test:<redirect port>/ lands on the HTTPS page.
  const page = await browser.newPage();
  await page.goto(`http://${HOST}:${redirectPort}/?from=http`);
  assert.equal(page.url(), `https://${HOST}:${server.port}/?from=http`);
  assert.equal(await page.evaluate(() => window.isSecureContext), true);
  await page.close();
});

test('a page over plain http://live.test says why it cannot publish', async () => {
  const page = await openUi(`http://${HOST}:${plain.port}/`);
  assert.equal(await page.evaluate(() => window.isSecureContext), false);
  await page.fill('#pub-name', 'nocam');
  await page.click('#pub-start');
  await waitFor(async () => (await page.textContent('#pub-status')).length > 0 && !/Connecting/.test(await page.textContent('#pub-status')),
    { what: 'the publish status' });
  const status = await page.textContent('#pub-status');
  assert.match(status, /camera needs HTTPS or localhost/);
  assert.equal(await page.getAttribute('#pub-status', 'class'), 'status error');
  assert.equal(await page.isEnabled('#pub-start'), true, 'the button is usable again');
  await page.close();

  // SIGHUP does not stop a server without TLS either.
  plain.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP received: nothing to reload/.test(plain.log()), { what: 'the SIGHUP to be logged' });
  assert.equal((await fetch(`${plain.url}/healthz`)).status, 200);
  assert.equal(plain.child.exitCode, null);
});

async function connectApp(opts) {
  const app = io(`https://${HOST}:${server.port}`, { reconnection: false, timeout: 5000, ...opts });
  await new Promise((resolve, reject) => {
    app.on('connect', resolve);
    app.on('connect_error', reject);
  });
  return app;
}

test('socket.io-client connects over wss:// (and polling upgraded to wss) with the CA', async () => {
  const ws = await connectApp({ transports: ['websocket'], ca: rootCa, agent: agent() });
  assert.equal(ws.io.engine.transport.name, 'websocket');
  assert.ok(ws.id);
  assert.match((await ws.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error, /not live/);
  ws.close();

  const upgraded = await connectApp({ ca: rootCa, agent: agent() });
  await waitFor(() => upgraded.io.engine.transport.name === 'websocket', { timeout: 5000, what: 'the upgrade to wss' });
  assert.ok((await upgraded.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error);
  upgraded.close();

  // Without the CA the certificate is refused.
  await assert.rejects(connectApp({ transports: ['websocket'], agent: new https.Agent({ lookup }) }));
});

test('SIGHUP and file changes reload the certificate; the server and open connections carry on', { timeout: 60000 }, async () => {
  const port = server.port;
  const first = await peerSerial(port);
  assert.equal(first.serial, '1001');
  assert.match(first.protocol, /^TLSv1\.[23]$/);
  const kept = await keptConnection(port);
  assert.equal(kept.serial, '1001');
  const app = await connectApp({ transports: ['websocket'], ca: rootCa, agent: agent() });

  // SIGHUP right after the files change: well before the watcher would act
  // (it waits for a change to hold for one 2 s poll).
  pointLive('fullchain', 2);
  pointLive('privkey', 2);
  server.child.kill('SIGHUP');
  await waitFor(async () => (await peerSerial(port)).serial === '2002', { timeout: 5000, interval: 50, what: 'the SIGHUP reload' });
  // The SIGHUP did it (the watcher's reloads say "on file change").
  assert.match(server.log(), /certificate reloaded on SIGHUP: CN=live\.test.*serial 2002/);
  assert.doesNotMatch(server.log(), /reloaded on file change/);
  assert.equal(server.child.exitCode, null);
  assert.match(await kept.get(), /^HTTP\/1\.1 200 /, 'a connection from before the reload still works');
  assert.ok((await app.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error, 'the wss socket too');

  // A key that does not match: SIGHUP logs an error and the old certificate stays.
  pointLive('privkey', 3);
  server.child.kill('SIGHUP');
  await waitFor(() => /reload on SIGHUP failed, keeping the current certificate/.test(server.log()), { what: 'the failed reload' });
  assert.match(server.log(), /TLS_KEY: the private key in .* does not match the certificate/);
  assert.equal((await peerSerial(port)).serial, '2002');

  // The watcher, no signal: certbot re-points the links at renewed files.
  pointLive('fullchain', 3);
  await waitFor(async () => (await peerSerial(port)).serial === '3003', { timeout: 10000, interval: 200, what: 'the watcher to reload' });
  assert.match(server.log(), /certificate reloaded on file change: CN=live\.test.*serial 3003/);

  // A bad PEM written over the certificate: logged, the current one stays.
  fs.writeFileSync(f('archive', 'fullchain3.pem'), '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
  await waitFor(() => /reload on file change failed.*TLS_CERT: no PEM certificate/.test(server.log()), { timeout: 10000, what: 'the bad PEM to be refused' });
  assert.equal((await peerSerial(port)).serial, '3003');

  // Still serving all along: HTTPS, the kept connection, the wss socket.
  assert.equal((await httpsGet(port, '/healthz')).status, 200);
  assert.match(await kept.get(), /^HTTP\/1\.1 200 /);
  assert.ok((await app.timeout(5000).emitWithAck('end-stream', { streamId: 'none' })).error);
  assert.equal(server.child.exitCode, null);
  kept.close();
  app.close();
  await sleep(100);
});
