// Peers on networks that let no UDP through (ice_tcp.test.mjs,
// tools/measure_transports.mjs): one Chromium whose WebRTC UDP sockets are
// confined to a port range by its own profile preferences, an nftables
// table that drops UDP from and to that range (only inside the test's own
// network namespace), watch/publish with the answer's candidates cut to
// one protocol, the selected candidate pair of a page's connection, and
// Debian's coturn on loopback.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, openPage, sleep } from './browser.mjs';

// Outside the kernel's ephemeral ports (32768-60999), so no other socket of
// the test (the server, the other browser, coturn) lands in it.
export const BLOCKED_UDP_RANGE = [20000, 20100];


/**
 * A Chromium whose WebRTC UDP sockets all bind to ports in `range`: the
 * WebRtcUdpPortRange policy's preference (`webrtc.udp_port_range`, "min-max")
 * set in this browser's own profile (the managed-policy folder would reach
 * every Chromium on the machine). Returns a playwright BrowserContext, which
 * lib/browser.mjs's openPage takes like a browser; close() also removes the
 * profile.
 */
export async function launchPortRangeBrowser({ range = BLOCKED_UDP_RANGE, extraArgs = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-udp-range-'));
  fs.mkdirSync(path.join(dir, 'Default'));
  fs.writeFileSync(path.join(dir, 'Default', 'Preferences'),
    JSON.stringify({ webrtc: { udp_port_range: `${range[0]}-${range[1]}` } }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  const close = context.close.bind(context);
  context.close = async () => {
    try { await close(); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  };
  return context;
}

// True when this process is in a network namespace of its own (run-e2e.sh's
// `unshare -n`), not the machine's: a firewall rule there reaches nothing
// outside the test. Where /proc/1/ns/net can be read, the namespaces are
// compared; where it cannot (a sandbox may refuse even root), the namespace
// must hold no links but run-e2e.sh's (lo and the veth pair v0/v1).
export function inPrivateNetns() {
  try {
    return fs.readlinkSync('/proc/self/ns/net') !== fs.readlinkSync('/proc/1/ns/net');
  } catch (_) { /* not readable: look at the links */ }
  const r = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  const links = [...r.stdout.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]);
  return links.includes('lo') && links.every((l) => ['lo', 'v0', 'v1'].includes(l));
}

function nft(args, input) {
  return spawnSync('nft', args, { input, encoding: 'utf8', timeout: 10000 });
}

/**
 * Drops UDP from and to the ports of `range` (a browser's sends, and what
 * comes back to it) with an nftables table of its own, in the output hook
 * (every packet on loopback passes it once). Only in a private network
 * namespace. Returns {table, dropped(), remove()}, or {error} saying why not
 * (no nft, not root, the machine's own namespace).
 */
export function blockUdpRange(range = BLOCKED_UDP_RANGE) {
  if (!inPrivateNetns()) return { error: 'not in a network namespace of its own (run through scripts/run-e2e.sh)' };
  if (spawnSync('sh', ['-c', 'command -v nft']).status !== 0) return { error: 'nft is not installed (Debian nftables)' };
  const table = `lss_block_udp_${process.pid}`;
  const ports = `${range[0]}-${range[1]}`;
  const r = nft(['-f', '-'], `table inet ${table} {
  chain out {
    type filter hook output priority 0; policy accept;
    udp sport ${ports} counter drop
    udp dport ${ports} counter drop
  }
}
`);
  if (r.status !== 0) return { error: `nft failed: ${(r.stderr || r.error?.message || '').trim()}` };
  return {
    table,
    // Packets dropped so far: {out: from the range, back: to it}.
    dropped() {
      const l = nft(['list', 'table', 'inet', table]).stdout || '';
      const count = (dir) => Number((new RegExp(`udp ${dir} ${ports} counter packets (\\d+)`).exec(l) || [])[1] || 0);
      return { out: count('sport'), back: count('dport') };
    },
    remove() { nft(['delete', 'table', 'inet', table]); },
  };
}

// Gives a page of the server's UI (Chromium's or Firefox's) window.lssOnly(only):
// an answerFilter that keeps only the answer's candidates of one protocol
// ('udp' or 'tcp'), or null (keep them all) for a null `only`.
export function installAnswerFilter(page) {
  return page.evaluate(() => {
    window.lssOnly = (only) => (only ? (sdp) => sdp.split(/\r?\n/).filter((l) => {
      const m = /^a=candidate:\S+ \d+ (\S+) /i.exec(l);
      return !m || m[1].toLowerCase() === only;
    }).join('\r\n') : null);
  });
}

async function openFilterPage(browser, server) {
  const page = await openPage(browser, server);
  await installAnswerFilter(page);
  return page;
}

/**
 * A WHEP viewer (window.view) in a new page of `browser` (a browser or a
 * context), played like lib/media.mjs's startViewer. `only`: keep only the
 * answer's 'udp' or 'tcp' candidates; `iceTransportPolicy`: 'relay' for
 * TURN only.
 */
export async function watchOver(browser, server, name, { only = null, iceTransportPolicy = 'all' } = {}) {
  const page = await openFilterPage(browser, server);
  await page.evaluate(async ({ name, only, iceTransportPolicy }) => {
    window.view = await window.lss.watch(name, { answerFilter: window.lssOnly(only), iceTransportPolicy });
    const el = document.createElement('video');
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = window.view.media;
    document.body.append(el);
    el.play().catch(() => {});
  }, { name, only, iceTransportPolicy });
  return page;
}

// A WHIP publisher (window.pub) with lss.publish's options plus `only`, as above.
export async function publishOver(browser, server, name, { only = null, ...opts } = {}) {
  const page = await openFilterPage(browser, server);
  await page.evaluate(async ({ name, only, opts }) => {
    window.pub = await window.lss.publish(name, { ...opts, answerFilter: window.lssOnly(only) });
  }, { name, only, opts });
  return page;
}

/**
 * The selected candidate pair of window[which].pc ('view' or 'pub'):
 * {protocol, localType, tcpType, relayProtocol, remoteType, remoteProtocol,
 * remoteAddress, remotePort, rtt (s), state}, or null while there is none.
 */
export async function selectedPair(page, which = 'view') {
  return page.evaluate(async (which) => {
    const stats = await window[which].pc.getStats();
    let pairId = null;
    stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId; });
    const p = pairId && stats.get(pairId);
    if (!p) return null;
    const l = stats.get(p.localCandidateId) || {};
    const r = stats.get(p.remoteCandidateId) || {};
    return {
      protocol: l.protocol, localType: l.candidateType, localAddress: l.address, tcpType: l.tcpType || null, relayProtocol: l.relayProtocol || null,
      remoteType: r.candidateType, remoteProtocol: r.protocol, remoteAddress: r.address, remotePort: r.port,
      rtt: p.currentRoundTripTime ?? null, state: p.state,
    };
  }, which);
}

// Every candidate pair of window[which].pc with its remote protocol:
// [{protocol, state, requestsSent, responsesReceived, nominated}].
export async function candidatePairs(page, which = 'view') {
  return page.evaluate(async (which) => {
    const stats = await window[which].pc.getStats();
    const out = [];
    stats.forEach((p) => {
      if (p.type !== 'candidate-pair') return;
      const r = stats.get(p.remoteCandidateId) || {};
      out.push({
        protocol: r.protocol, state: p.state, requestsSent: p.requestsSent || 0,
        responsesReceived: p.responsesReceived || 0, nominated: !!p.nominated,
      });
    });
    return out;
  }, which);
}

// ---- coturn -----------------------------------------------------------------

function freeUdpPort() {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

async function stunAnswers(port, timeoutMs = 5000) {
  const sock = dgram.createSocket('udp4');
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0);
  req.writeUInt32BE(0x2112a442, 4);
  crypto.randomFillSync(req, 8, 12);
  const got = new Promise((resolve) => sock.once('message', () => resolve(true)));
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      sock.send(req, port, '127.0.0.1');
      if (await Promise.race([got, sleep(200).then(() => false)])) return true;
    }
    return false;
  } finally {
    sock.close();
  }
}

export function haveCoturn() {
  return spawnSync('sh', ['-c', 'command -v turnserver']).status === 0;
}

/**
 * Debian's coturn on 127.0.0.1 with a shared secret (as ice.test.mjs runs
 * it). Returns {port, pid, secret, log(), stop()}; the server under test
 * takes ICE_SERVERS=turn:127.0.0.1:<port> and TURN_SECRET=<secret>.
 */
export async function startCoturn({ secret = 'S', verbose = false } = {}) {
  const port = await freeUdpPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-coturn-'));
  // stdbuf: coturn's log lines as they come (a pipe is block-buffered).
  const turn = spawn('stdbuf', ['-oL', '-eL', 'turnserver',
    '-n', '--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1', '--listening-port', String(port),
    '--allow-loopback-peers', '--no-cli', '--use-auth-secret', '--static-auth-secret', secret, '--realm', 'R',
    '--no-tls', '--no-dtls', '--no-tcp-relay', '--min-port', '49152', '--max-port', '49999',
    '--pidfile', path.join(dir, 'turnserver.pid'), '--userdb', path.join(dir, 'turndb'),
    '--log-file', 'stdout', '--simple-log', ...(verbose ? ['--verbose'] : []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  turn.stdout.on('data', (d) => { log += d; });
  turn.stderr.on('data', (d) => { log += d; });
  const stop = async () => {
    if (turn.exitCode === null && turn.signalCode === null) {
      const gone = new Promise((r) => turn.once('exit', r));
      turn.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (turn.exitCode === null && turn.signalCode === null) turn.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (!(await stunAnswers(port))) {
    await stop();
    throw new Error(`coturn did not start:\n${log}`);
  }
  return { port, pid: turn.pid, secret, log: () => log, stop };
}
