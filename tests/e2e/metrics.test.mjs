// GET /metrics during a real publish + watch session: Prometheus' own
// `promtool check metrics` accepts the exposition, and the values move as
// they should: a viewer joins (one more viewer peer, bytes going out), leaves
// (back again), and no counter ever goes down.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { launchBrowser, sleep, waitFor } from './lib/browser.mjs';
import { expectDecoding, startPublisher, startViewer } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  if (process.exitCode) console.log(server.log());
  return exit;
});

async function scrape() {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

// `series{labels}` -> value, from the exposition's sample lines.
function parse(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

function check(text, when) {
  if (!promtool) {
    console.log(`promtool not installed (Debian package prometheus): format check skipped (${when})`);
    return;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics (${when}) failed:\n${r.stdout}${r.stderr}\n${text}`);
}

const get = (m, series) => {
  assert.ok(m.has(series), `no series ${series}`);
  return m.get(series);
};
const bytesOut = 'lss_bytes_total{direction="out"}';
const viewers = 'lss_peers{role="viewer"}';
const publishers = 'lss_peers{role="publisher"}';

// Counters, histogram buckets, sums and counts never go down between scrapes.
function assertMonotonic(earlier, later) {
  for (const [series, v] of earlier) {
    const name = series.replace(/\{.*$/, '');
    if (!/(_total|_bucket|_sum|_count)$/.test(name)) continue;
    assert.ok(later.has(series), `${series} disappeared`);
    assert.ok(later.get(series) >= v, `${series} went down: ${v} -> ${later.get(series)}`);
  }
}

// Bytes sent per second, over `ms`.
async function outRate(ms = 2000) {
  const a = get(parse(await scrape()), bytesOut);
  await sleep(ms);
  return ((get(parse(await scrape()), bytesOut) - a) * 1000) / ms;
}

test('/metrics passes promtool and follows a viewer joining and leaving', { timeout: 90000 }, async () => {
  const idle = await scrape();
  check(idle, 'idle server');
  let m = parse(idle);
  assert.equal(get(m, 'lss_streams'), 0);
  assert.equal(get(m, viewers), 0);
  for (const family of ['lss_streams', 'lss_peers', 'lss_bytes_total', 'lss_rtp_packets_total',
    'lss_nacks_received_total', 'lss_retransmitted_packets_total', 'lss_plis_sent_total',
    'lss_firs_sent_total', 'lss_packets_lost_total', 'lss_forwarding_latency_seconds',
    'lss_dtls_handshake_failures_total', 'lss_http_requests_total', 'lss_spool_clips',
    'lss_spool_oldest_age_seconds', 'lss_uploads_failed_total', 'lss_catalog_write_errors_total',
    'lss_worker_busy_seconds_total', 'lss_recording_paused', 'lss_recording_write_errors_total',
    'lss_recording_frames_not_recorded_total', 'lss_recording_packets_dropped_total',
    'lss_hls_streams', 'lss_hls_waiting_requests', 'lss_hls_bytes', 'lss_udp_send_datagrams_total',
    'lss_udp_send_messages_total', 'lss_send_path']) {
    assert.match(idle, new RegExp(`^# HELP ${family} .+\\n# TYPE ${family} `, 'm'), family);
  }
  assert.ok(m.has('lss_worker_busy_seconds_total{worker="0"}'));
  assert.ok(m.has('lss_worker_busy_seconds_total{worker="1"}'));
  assert.ok(m.has('lss_forwarding_latency_seconds_bucket{le="+Inf"}'));
  // SEND_PATH=auto: UDP GSO (the kernel here takes it).
  assert.equal(get(m, 'lss_send_path{worker="0",path="gso"}'), 1);
  assert.equal(get(m, 'lss_send_path{worker="1",path="gso"}'), 1);

  const publisher = await startPublisher(browser, server, 'metrics1', 'VP8');
  await waitFor(async () => {
    const p = parse(await scrape());
    return get(p, 'lss_streams') === 1 && get(p, publishers) === 1 && get(p, 'lss_rtp_packets_total{direction="in"}') > 0;
  }, { what: 'the stream and its publisher in /metrics' });
  const alone = await outRate();
  const before = parse(await scrape());
  assert.equal(get(before, viewers), 0);

  // A viewer joins.
  const viewer = await startViewer(browser, server, 'metrics1');
  await expectDecoding(viewer, publisher, { minFrames: 20 });
  const watching = await scrape();
  check(watching, 'while publishing and watching');
  m = parse(watching);
  assert.equal(get(m, 'lss_streams'), 1);
  assert.equal(get(m, publishers), 1);
  assert.equal(get(m, viewers), get(before, viewers) + 1);
  assert.ok(get(m, bytesOut) > get(before, bytesOut), 'bytes out grew');
  assert.ok(get(m, 'lss_rtp_packets_total{direction="out"}') > get(before, 'lss_rtp_packets_total{direction="out"}'));
  assert.ok(get(m, 'lss_plis_sent_total') >= 1, 'a new viewer gets a keyframe asked for');
  assert.ok(get(m, 'lss_forwarding_latency_seconds_count') > 0);
  const sent = (w) => get(m, `lss_udp_send_datagrams_total{worker="${w}"}`);
  const messages = (w) => get(m, `lss_udp_send_messages_total{worker="${w}"}`);
  assert.ok(sent(0) + sent(1) > 0, 'datagrams went out');
  for (const w of [0, 1]) assert.ok(messages(w) <= sent(w), `worker ${w}: messages <= datagrams`);
  assert.equal(get(m, 'lss_forwarding_latency_seconds_count'), get(m, 'lss_forwarding_latency_seconds_bucket{le="+Inf"}'));
  assert.ok(get(m, 'lss_http_requests_total{route="/whip/",status="201"}') >= 1);
  assert.ok(get(m, 'lss_http_requests_total{route="/whep/",status="201"}') >= 1);
  assert.ok(get(m, 'lss_http_requests_total{route="/metrics",status="200"}') >= 1);
  assertMonotonic(before, m);
  const sending = await outRate();
  assert.ok(sending > 20000 && sending > 4 * alone,
    `a viewer makes bytes go out: ${Math.round(alone)} B/s alone, ${Math.round(sending)} B/s watched`);

  // The viewer leaves: back to where it was, counters kept.
  await viewer.evaluate(() => window.view.stop());
  await waitFor(async () => get(parse(await scrape()), viewers) === get(before, viewers), { what: 'the viewer gauge to fall back' });
  const left = parse(await scrape());
  assert.equal(get(left, 'lss_streams'), 1);
  assertMonotonic(m, left);
  const after = await outRate();
  assert.ok(after < sending / 4, `bytes out slow down once the viewer left: ${Math.round(sending)} -> ${Math.round(after)} B/s`);

  // The publisher stops: no stream, no peers.
  await publisher.evaluate(() => window.pub.stop());
  await waitFor(async () => {
    const p = parse(await scrape());
    return get(p, 'lss_streams') === 0 && get(p, publishers) === 0;
  }, { what: 'the stream to leave /metrics' });
  const ended = await scrape();
  check(ended, 'after the stream ended');
  assertMonotonic(left, parse(ended));
  for (const page of [viewer, publisher]) await page.close();

  // Methods other than GET are refused.
  const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('SEND_PATH=plain: viewers decode and every datagram is its own message', { timeout: 60000 }, async () => {
  const plain = await startServer({ SEND_PATH: 'plain' });
  try {
    const publisher = await startPublisher(browser, plain, 'plain1', 'VP8');
    const viewer = await startViewer(browser, plain, 'plain1');
    await expectDecoding(viewer, publisher, { minFrames: 20 });
    const m = parse(await (await fetch(`${plain.url}/metrics`)).text());
    for (const w of [0, 1]) {
      assert.equal(get(m, `lss_send_path{worker="${w}",path="plain"}`), 1);
      assert.equal(get(m, `lss_udp_send_messages_total{worker="${w}"}`),
        get(m, `lss_udp_send_datagrams_total{worker="${w}"}`));
    }
    await publisher.close();
    await viewer.close();
  } finally {
    await plain.stop();
  }
});
