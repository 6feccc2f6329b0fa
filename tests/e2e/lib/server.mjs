// Starts build/live-stream-server on free ports for one test and stops it.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
const serverBin = process.env.LSS_BIN || path.join(repoRoot, 'build/live-stream-server');
// The server built with ASan+UBSan (make asan-e2e, LSS_SANITIZED=1) or
// ThreadSanitizer (make tsan-e2e, LSS_SANITIZED=tsan) starts and stops slower.
const sanitized = process.env.LSS_SANITIZED || '';
const slow = sanitized === 'tsan' ? 4 : sanitized ? 3 : 1;
// How much slower a sanitized server is, for tests' own deadlines.
export const slowFactor = slow;
// What a sanitizer prints when it finds something (LeakSanitizer at exit too).
const SANITIZER_REPORT = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer/;
// TSan goes on after a report (every race is listed, the test fails at the
// end) and, like the other sanitizers, writes to the log we keep.
const sanitizerEnv = sanitized === 'tsan' ? { TSAN_OPTIONS: 'halt_on_error=0 second_deadlock_stack=1 history_size=4' } : {};

export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function bindUdp(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(null));
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

// Whether TCP `port` is free on every address (the server's ICE-TCP
// listener takes the UDP port's number).
function tcpFree(port, host = '::') {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (e) => {
      // No IPv6 here: the IPv4 wildcard tells as much.
      if (host === '::' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) resolve(tcpFree(port, '0.0.0.0'));
      else resolve(false);
    });
    s.listen({ port, host, ipv6Only: false }, () => s.close(() => resolve(true)));
  });
}

// `count` consecutive ports free as UDP and as TCP (one per media worker,
// for its UDP socket and its ICE-TCP listener); returns the first.
async function freeUdpPorts(count) {
  for (let attempt = 0; attempt < 50; ++attempt) {
    const first = await bindUdp(0);
    const base = first.address().port;
    const held = [first];
    for (let i = 1; i < count; ++i) {
      const s = base + i <= 65535 ? await bindUdp(base + i) : null;
      if (!s) break;
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (held.length !== count) continue;
    let tcp = true;
    for (let i = 0; i < count && tcp; ++i) tcp = await tcpFree(base + i);
    if (tcp) return base;
  }
  throw new Error(`no ${count} consecutive free UDP+TCP ports`);
}

// `healthz` (optional): async (port) => HTTP status of /healthz, for a
// server that does not answer plain HTTP on `port` (TLS_CERT).
export async function startServer(env = {}, { healthz } = {}) {
  const port = await freeTcpPort();
  // Two media workers, as on the 2-core machines the tests run on, unless
  // the test asks otherwise.
  const workers = Number(env.MEDIA_WORKERS || 2);
  const udpPort = await freeUdpPorts(workers);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-e2e-'));
  const child = spawn(serverBin, [], {
    env: {
      ...process.env,
      ...sanitizerEnv,
      PORT: String(port),
      UDP_PORT: String(udpPort),
      MEDIA_WORKERS: String(workers),
      PUBLIC_IP: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000 * slow;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log}`);
    try {
      const status = healthz ? await healthz(port) : (await fetch(`${url}/healthz`)).status;
      if (status === 200) break;
    } catch (_) { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`server not ready in ${10 * slow} s:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url, port, udpPort, dataDir, child,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000 * slow);
        const r = await exited;
        clearTimeout(killer);
        this.exit = r;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      // A sanitizer's report fails the test that ran this server, even when
      // everything it checked passed.
      const report = SANITIZER_REPORT.exec(log);
      if (report) {
        const at = log.lastIndexOf('\n', Math.max(0, report.index - 1));
        throw new Error(`the server's sanitizer reported:\n${log.slice(at + 1, at + 1 + 8000)}`);
      }
      return this.exit;
    },
  };
}
