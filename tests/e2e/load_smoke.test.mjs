// build/lss-load against a real server: one WHIP publisher sending the looped
// clip, five WHEP viewers, each a full WebRTC peer; the JSON report must show
// every viewer receiving video and audio with latency measured. The same
// with an H264 publisher (--codec h264).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { loadMissing as missing, parseReport, runLoad } from './lib/load.mjs';
import { repoRoot, startServer } from './lib/server.mjs';

let server, keyed;
before(async () => {
  if (missing) return;
  server = await startServer({ LOG_LEVEL: 'info' });
  keyed = await startServer({ LOG_LEVEL: 'info', STREAM_KEY: 'load-key' });
});
after(async () => {
  const exits = [await server?.stop(), await keyed?.stop()];
  if (process.exitCode) {
    console.log(server?.log());
    console.log(keyed?.log());
  }
  for (const exit of exits) assert.equal(exit?.signal ?? null, null, 'server did not crash');
});

test('lss-load: one publisher, five viewers all receive video and audio', { skip: missing }, async () => {
  const r = await runLoad([
    '--url', server.url, '--stream', 'smoke', '--publish', '--viewers', '5', '--duration', '5',
    '--json', '--server-pid', String(server.child.pid),
  ]);
  const report = parseReport(r);
  assert.equal(r.code, 0, `exit status; stderr:\n${r.stderr}`);
  assert.deepEqual(report.errors, {});

  assert.equal(report.publishers.connected, 1);
  assert.ok(report.publishers.video_packets_sent > 0);
  assert.ok(report.publishers.audio_packets_sent > 0);

  const v = report.viewers;
  assert.equal(v.requested, 5);
  assert.equal(v.connected, 5, 'every viewer connected');
  assert.equal(v.receiving, 5, 'every viewer received RTP');
  assert.equal(v.with_video, 5, 'every viewer received video');
  assert.equal(v.with_audio, 5, 'every viewer received audio');
  assert.equal(v.failed, 0);
  assert.equal(v.join_ms.count, 5);

  const rx = report.received;
  assert.ok(rx.video_packets > 0 && rx.audio_packets > 0);
  assert.ok(rx.srtp_checked > 0, 'a sample of packets was authenticated');
  assert.equal(rx.srtp_failed, 0, 'every sampled packet authenticated');

  assert.ok(report.latency_ms.samples > 0, 'latency measured');
  assert.equal(typeof report.latency_ms.p50, 'number');
  assert.equal(typeof report.latency_ms.p99, 'number');

  assert.ok(report.server.cpu_s >= 0, 'server CPU time read from /proc');
  assert.ok(report.server.rss_kb_end > 0, 'server RSS read from /proc');
  assert.equal(typeof report.server.cpu_us_per_forwarded_packet, 'number');
  assert.equal(report.teardown.deletes_ok, 6, 'every session deleted');

  // The deleted sessions leave no live stream behind.
  const live = await (await fetch(`${server.url}/api/streams?status=live`)).json();
  assert.equal(live.streams.length, 0);
});

test('lss-load --codec h264: an H264 publisher reaches three viewers', { skip: missing }, async () => {
  const run = runLoad([
    '--url', server.url, '--stream', 'smoke-h264', '--codec', 'h264', '--publish', '--viewers', '3',
    '--duration', '4', '--json',
  ]);
  // While it runs, the server lists the stream with the codec its WHIP offer named.
  let live;
  for (const deadline = Date.now() + 20000; !live && Date.now() < deadline;) {
    const list = await (await fetch(`${server.url}/api/streams?status=live`)).json();
    live = list.streams.find((s) => s.name === 'smoke-h264');
    if (!live) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const r = await run;
  const report = parseReport(r);
  assert.equal(r.code, 0, `exit status; stderr:\n${r.stderr}`);
  assert.deepEqual(report.errors, {});
  assert.ok(live, 'the stream was live while lss-load ran');
  assert.equal(live.video_codec, 'H264');
  assert.equal(live.audio_codec, 'opus');

  assert.equal(report.config.codec, 'H264');
  assert.match(report.config.clip, /clip-h264\.mkv$/);
  assert.equal(report.publishers.connected, 1);
  assert.ok(report.publishers.video_packets_sent > 0);
  assert.ok(report.publishers.keyframes_sent > 0);

  const v = report.viewers;
  assert.equal(v.connected, 3, 'every viewer connected');
  assert.equal(v.with_video, 3, 'every viewer received video');
  assert.equal(v.with_audio, 3, 'every viewer received audio');
  assert.equal(v.failed, 0);
  assert.deepEqual(v.video_codecs, { H264: 3 }, 'every viewer was answered with H264');
  assert.equal(report.received.srtp_failed, 0);
});

test('lss-load --codec h264 refuses a synthetic or VP8 clip', { skip: missing }, async () => {
  const synthetic = await runLoad(['--url', server.url, '--stream', 'x', '--publish', '--codec', 'h264',
    '--clip', 'synthetic']);
  assert.equal(synthetic.code, 2);
  assert.match(synthetic.stderr, /synthetic makes VP8 frames only/);
  const vp8 = await runLoad(['--url', server.url, '--stream', 'x', '--publish', '--codec', 'h264',
    '--clip', path.join(repoRoot, 'tests/data/media/clip.webm')]);
  assert.equal(vp8.code, 2);
  assert.match(vp8.stderr, /has VP8 video; --codec asks for H264/);
});

test('lss-load: publishing needs --key when the server has a stream key', { skip: missing }, async () => {
  const refused = await runLoad(['--url', keyed.url, '--stream', 'keyed', '--publish', '--viewers', '1',
    '--duration', '1', '--json', '--join-timeout', '3']);
  const bad = parseReport(refused);
  assert.notEqual(refused.code, 0, 'no viewer received media');
  assert.equal(bad.publishers.connected, 0);
  assert.ok(Object.keys(bad.errors).some((e) => /HTTP 401/.test(e)), JSON.stringify(bad.errors));

  // Long enough for a keyframe to reach a viewer that joined just after one
  // (requests for a new one are throttled; the clip has one every 1.5 s).
  const ok = await runLoad(['--url', keyed.url, '--stream', 'keyed', '--publish', '--viewers', '1',
    '--duration', '4', '--json', '--key', 'load-key']);
  const good = parseReport(ok);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(good.viewers.with_video, 1);
  assert.equal(good.viewers.with_audio, 1);
});

test('lss-load --help documents every option', { skip: missing }, async () => {
  const r = await runLoad(['--help']);
  assert.equal(r.code, 0);
  for (const opt of ['--url', '--stream', '--publish', '--publishers', '--viewers', '--duration', '--bitrate',
    '--ramp', '--key', '--server-pid', '--json', '--codec']) {
    assert.ok(r.stdout.includes(opt), `--help mentions ${opt}`);
  }
});
