// Starts a real redis-server (Debian's redis-server package) on loopback for
// the cluster tests, without persistence, and stops it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

import { freeTcpPort } from './server.mjs';

export const redisBin = '/usr/bin/redis-server';
export const redisMissing = !fs.existsSync(redisBin) && 'redis-server is not installed (Debian package redis-server)';

function ping(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { got += d; if (got.includes('\r\n')) { s.destroy(); resolve(got.startsWith('+PONG')); } });
    s.on('error', () => resolve(false));
  });
}

// `port`: the same one again, as a restarted Redis would be.
export async function startRedis(port = 0) {
  port ||= await freeTcpPort();
  const child = spawn(redisBin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
