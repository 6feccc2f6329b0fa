// A second, independent WebRTC stack against the server: GStreamer's
// webrtcbin (libnice ICE, its own DTLS/SRTP) through gst/webrtc_client.py,
// with bundle-policy=max-bundle (its second m-section is offered with port 0
// and a=bundle-only), and Chromium on the other side.
//
// libnice ignores lo: scripts/run-e2e.sh puts 127.0.0.2 on a veth pair in
// the test's namespace, and the server also advertises 127.0.0.2 (it answers
// a check from the address the check was sent to only when that address is
// the client's own: see PUBLIC_IP below).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import { publisherVideo, startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const clientPy = path.join(here, 'gst/webrtc_client.py');
// Debian's python3, for which python3-gst-1.0 is built (not another on PATH).
const python = process.env.LSS_GST_PYTHON || '/usr/bin/python3';
const KEY = 'gst-e2e-key';
// What the GStreamer publisher sends (videotestsrc caps).
const WIDTH = 320;
const HEIGHT = 240;

function unavailable() {
  const probe = spawnSync(python, ['-c', `
import gi
gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0')
from gi.repository import Gst, GstWebRTC, GstSdp
Gst.init(None)
missing = [e for e in ('webrtcbin', 'nicesrc', 'vp8enc', 'vp8dec', 'x264enc', 'avdec_h264', 'opusenc', 'opusdec', 'decodebin')
           if Gst.ElementFactory.find(e) is None]
if missing: raise SystemExit('missing GStreamer elements: ' + ' '.join(missing))
`], { encoding: 'utf8', timeout: 30000 });
  if (probe.status !== 0) return `GStreamer webrtcbin is not usable from ${python}: ${(probe.stderr || probe.error || '').toString().trim()}`;
  const addresses = Object.values(os.networkInterfaces()).flat().map((a) => a.address);
  if (!addresses.includes('127.0.0.2')) {
    return 'no interface has 127.0.0.2 (libnice ignores lo; scripts/run-e2e.sh adds it on a veth pair in its network namespace)';
  }
  return false;
}
const skip = unavailable();

let server, browser;
before(async () => {
  if (skip) return;
  server = await startServer({
    // libnice sends from 127.0.0.2 and bound to v0 (IP_UNICAST_IF), so it
    // can only reach a candidate on v0: 127.0.0.2. Chromium uses 127.0.0.1.
    PUBLIC_IP: '127.0.0.1,127.0.0.2',
    STREAM_KEY: KEY,
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  if (process.exitCode) console.log(server.log());
  return exit;
});

// Runs webrtc_client.py; `done` resolves with its exit, output and the JSON
// report (its last stdout line). `stop()` sends SIGTERM (it then DELETEs its
// session and reports) and waits.
function gst(args, { timeout = 90000 } = {}) {
  const child = spawn(python, [clientPy, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeout);
  const done = new Promise((resolve) => child.once('exit', (code, signal) => {
    clearTimeout(killer);
    let report = null;
    try {
      report = JSON.parse(stdout.trim().split('\n').pop());
    } catch (_) { /* none: the assertions show stderr */ }
    resolve({ code, signal, stdout, stderr, report });
  }));
  return {
    done,
    stderr: () => stderr,
    // Throws (with its stderr) if the client has already ended.
    check() {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`webrtc_client.py ${args[0]} ended early (${child.exitCode ?? child.signalCode}):\n${stderr}`);
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return done;
    },
  };
}

// The offer --verbose logged was max-bundle's: audio with port 0, bundle-only.
function assertBundleOnlyOffer(stderr) {
  const offer = /offer:\n([\s\S]*?)\n(?:webrtc_client|$)/.exec(stderr)?.[1] ?? '';
  assert.match(offer, /^m=audio 0 UDP\/TLS\/RTP\/SAVPF /m, `offer:\n${offer}`);
  assert.match(offer, /^a=bundle-only\r?$/m, `offer:\n${offer}`);
}

async function liveStream(name) {
  const { streams } = await (await fetch(`${server.url}/api/streams?status=live`)).json();
  return streams.find((s) => s.name === name);
}

async function gstPublishesToChromium(t, codec) {
  const name = `gst-${codec}`;
  const pub = gst(['publish', `${server.url}/whip/${name}`, '--codec', codec, '--token', KEY,
    '--bundle-policy', 'max-bundle', '--width', WIDTH, '--height', HEIGHT, '--seconds', 120, '--verbose']);
  let viewer;
  try {
    await waitFor(async () => { pub.check(); return liveStream(name); }, { timeout: 15000, what: `stream ${name} to go live` });
    viewer = await startViewer(browser, server, name);
    await waitFor(async () => { pub.check(); return (await viewerStats(viewer)).framesDecoded >= 30; }, {
      timeout: 20000, what: 'Chromium to decode 30 frames from GStreamer',
    });
    await waitFor(async () => (await viewerStats(viewer)).audioPackets > 20, { timeout: 10000, what: 'audio packets' });
    const s = await viewerStats(viewer);
    assert.equal(s.videoCodec, `video/${codec.toUpperCase()}`);
    assert.equal(`${s.width}x${s.height}`, `${WIDTH}x${HEIGHT}`, 'Chromium decodes the size GStreamer sends');
    assert.ok(s.audioSamples > 0, 'Chromium decodes the Opus audio');
    assert.equal((await liveStream(name)).viewers, 1);

    // The publisher leaves (SIGTERM: it DELETEs its session): the stream
    // ends for the viewer too.
    const r = await pub.stop();
    t.diagnostic(`GStreamer publisher: ${JSON.stringify(r.report)}; Chromium viewer: ${JSON.stringify(s)}`);
    assert.equal(r.code, 0, `publisher exit ${r.code ?? r.signal}:\n${r.stderr}`);
    assert.equal(r.report.connection_state, 'connected', r.stderr);
    assert.equal(r.report.codec, codec.toUpperCase());
    assertBundleOnlyOffer(r.stderr);
    assert.ok(r.report.video_packets_sent > 30 && r.report.audio_packets_sent > 20, JSON.stringify(r.report));
    assert.match(r.report.location, new RegExp(`^${server.url}/whip/${name}/[0-9a-f]+$`));
    await waitFor(async () => (await viewerStats(viewer)).ended, { timeout: 10000, what: 'the viewer to end' });
    await waitFor(async () => !(await liveStream(name)), { timeout: 10000, what: 'the stream to end' });
  } catch (e) {
    console.log(`GStreamer publisher (${codec}) stderr:\n${pub.stderr()}`);
    throw e;
  } finally {
    await pub.stop();
    await viewer?.close();
  }
}

test('GStreamer publishes VP8 + Opus (max-bundle); Chromium watches', { skip, timeout: 90000 }, async (t) => {
  await gstPublishesToChromium(t, 'vp8');
});

test('GStreamer publishes H264 + Opus (max-bundle); Chromium watches', { skip, timeout: 90000 }, async (t) => {
  await gstPublishesToChromium(t, 'h264');
});

for (const codec of ['VP8', 'H264']) {
  test(`Chromium publishes ${codec}; GStreamer watches (max-bundle) and decodes`, { skip, timeout: 90000 }, async (t) => {
    const name = `chromium-${codec.toLowerCase()}`;
    const publisher = await startPublisher(browser, server, name, codec, KEY);
    try {
      // The fake camera is 640x480; let the encoder ramp up to it first.
      await waitFor(async () => (await publisherVideo(publisher))?.width === 640, {
        timeout: 15000, what: 'the publisher to send 640x480',
      });
      const r = await gst(['view', `${server.url}/whep/${name}`, '--bundle-policy', 'max-bundle', '--seconds', 6, '--verbose']).done;
      const where = `${JSON.stringify(r.report)}\n${r.stderr}`;
      t.diagnostic(`GStreamer viewer: ${JSON.stringify(r.report)}; publisher: ${JSON.stringify(await publisherVideo(publisher))}`);
      assert.equal(r.code, 0, where);
      assert.equal(r.report.connection_state, 'connected', where);
      assert.equal(r.report.codec, codec, where);
      assertBundleOnlyOffer(r.stderr);
      assert.ok(r.report.video_frames > 30, `${r.report.video_frames} video frames decoded\n${where}`);
      assert.ok(r.report.audio_buffers > 0, `${r.report.audio_buffers} audio buffers decoded\n${where}`);
      // 640x480 (the fake camera) as the publisher sends it; should Chromium
      // scale down under load meanwhile, GStreamer decodes that size too.
      const p = await publisherVideo(publisher);
      const sizes = r.report.sizes.join(', ');
      assert.ok(r.report.sizes.includes('640x480'), `GStreamer decoded ${sizes}`);
      assert.ok(r.report.sizes.includes(`${p.width}x${p.height}`), `GStreamer decoded ${sizes}; the publisher sends ${p.width}x${p.height}`);
      assert.equal(r.report.width * 3, r.report.height * 4, `GStreamer decoded ${sizes}`);
      // It DELETEd its session on the way out.
      assert.match(r.report.location, new RegExp(`^${server.url}/whep/${name}/[0-9a-f]+$`));
      await waitFor(async () => (await liveStream(name))?.viewers === 0, { timeout: 5000, what: 'the viewer count to drop to 0' });
    } finally {
      await publisher.evaluate(() => window.pub.stop());
      await publisher.close();
    }
  });
}

test('the GStreamer client fails clearly on HTTP errors', { skip, timeout: 60000 }, async () => {
  const wrongKey = await gst(['publish', `${server.url}/whip/gst-denied`, '--token', 'wrong', '--seconds', 1]).done;
  assert.equal(wrongKey.code, 1, wrongKey.stderr);
  assert.match(wrongKey.stderr, /HTTP 401/);
  const noStream = await gst(['view', `${server.url}/whep/gst-nobody`, '--seconds', 1]).done;
  assert.equal(noStream.code, 1, noStream.stderr);
  assert.match(noStream.stderr, /HTTP 404/);
  assert.equal(await liveStream('gst-denied'), undefined);
});
