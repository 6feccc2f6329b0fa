// The real PeerJS pieces: the npm `peer` server on loopback, and browser
// pages running the npm `peerjs` client (as the original app's streamers and
// viewers do).
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { openPage, waitFor } from './browser.mjs';
import { freeTcpPort } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const peerBin = path.join(here, '../node_modules/peer/dist/bin/peerjs.js');
export const peerjsBundle = path.join(here, '../node_modules/peerjs/dist/peerjs.min.js');

// Starts `peerjs --port P` (the `peer` package's CLI); `port` reuses one.
// With `tls: {key, cert}` (file paths) it serves wss:// and https://.
export async function startPeerServer({ port, key = 'peerjs', path: p = '/', tls } = {}) {
  port = port || await freeTcpPort();
  const args = [peerBin, '--port', String(port), '--host', '127.0.0.1', '--key', key, '--path', p];
  if (tls) args.push('--sslkey', tls.key, '--sslcert', tls.cert);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const scheme = tls ? 'https' : 'http';
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`peer server exited:\n${log}`);
    try {
      if (tls) return await new Promise((resolve) => { const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); }); s.on('error', () => resolve(false)); });
      return (await fetch(`${scheme}://127.0.0.1:${port}${p}`)).ok;
    } catch (_) { return false; }
  }, { timeout: 10000, what: 'the PeerJS server' });
  return {
    port, key, path: p, secure: !!tls,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        // Its SIGTERM handler waits for every WebSocket to close, which
        // connected peers never do: kill it, as a crash or restart would.
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

// A page with the peerjs client registered on `peerServer` as `window.peer`.
export async function openPeerPage(browser, server, peerServer, id) {
  const page = await openPage(browser, server);
  await page.addScriptTag({ path: peerjsBundle });
  await page.evaluate(async ({ id, port, key, p, secure }) => {
    const host = secure ? 'localhost' : '127.0.0.1';
    window.peer = new window.Peer(id, { host, port, key, path: p, secure, config: { iceServers: [] }, debug: 1 });
    window.peerErrors = [];
    window.peer.on('error', (e) => window.peerErrors.push(`${e.type}: ${e.message}`));
    await new Promise((resolve, reject) => {
      window.peer.on('open', resolve);
      window.peer.on('error', reject);
    });
  }, { id, port: peerServer.port, key: peerServer.key, p: peerServer.path, secure: peerServer.secure });
  return page;
}

// The original app's streamer: answers the server's call with its camera.
export async function startPeerStreamer(browser, server, peerServer, id) {
  const page = await openPeerPage(browser, server, peerServer, id);
  await page.evaluate(async () => {
    window.camera = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    window.calls = [];
    window.closedCalls = 0;
    window.peer.on('call', (call) => {
      window.calls.push(call);
      call.on('close', () => { window.closedCalls += 1; });
      call.answer(window.camera);
    });
  });
  return page;
}

// The original app's viewer: calls the stream's PeerJS id with a placeholder
// stream and plays what the answer brings.
export async function startPeerViewer(browser, server, peerServer, viewerPeerId) {
  const page = await openPeerPage(browser, server, peerServer, undefined);
  await page.evaluate(async (target) => {
    // A placeholder local stream, as the original viewers sent: a silent
    // canvas track and a muted oscillator.
    const canvas = document.createElement('canvas');
    canvas.width = 16;
    canvas.height = 16;
    canvas.getContext('2d').fillRect(0, 0, 16, 16);
    const ctx = new AudioContext();
    const dst = ctx.createMediaStreamDestination();
    const placeholder = new MediaStream([...canvas.captureStream(1).getVideoTracks(), ...dst.stream.getAudioTracks()]);
    window.call = window.peer.call(target, placeholder);
    window.callClosed = false;
    window.call.on('close', () => { window.callClosed = true; });
    window.remote = await new Promise((resolve) => window.call.on('stream', resolve));
    const el = document.createElement('video');
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = window.remote;
    document.body.append(el);
    el.play().catch(() => {});
  }, viewerPeerId);
  return page;
}

export async function peerViewerStats(page) {
  return page.evaluate(async () => {
    let video = null, audio = null;
    const pc = window.call.peerConnection;  // null once PeerJS closed the call
    if (!pc) return { framesDecoded: 0, audioPackets: 0, closed: true };
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') audio = s;
    });
    return {
      framesDecoded: video ? video.framesDecoded || 0 : 0,
      audioPackets: audio ? audio.packetsReceived || 0 : 0,
      closed: window.callClosed,
    };
  });
}

export async function expectPeerViewerDecoding(page, { minFrames = 30 } = {}) {
  await waitFor(async () => (await peerViewerStats(page)).framesDecoded >= minFrames, { timeout: 20000, what: `${minFrames} frames decoded by a PeerJS viewer` });
  await waitFor(async () => (await peerViewerStats(page)).audioPackets > 20, { timeout: 10000, what: 'audio packets at a PeerJS viewer' });
  return peerViewerStats(page);
}
