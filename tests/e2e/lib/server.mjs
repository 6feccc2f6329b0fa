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

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startServer(env = {}) {
  const port = await freeTcpPort();
  const udpPort = await freeUdpPort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lss-e2e-'));
  const child = spawn(serverBin, [], {
    env: {
      ...process.env,
      PORT: String(port),
      UDP_PORT: String(udpPort),
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
  const deadline = Date.now() + 10000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) break;
    } catch (_) { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`server not ready in 10 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url, port, udpPort, dataDir, child,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const r = await exited;
        clearTimeout(killer);
        this.exit = r;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      return this.exit;
    },
  };
}
