// Firefox ESR (Gecko's WebRTC stack, driven over WebDriver BiDi) against
// Chromium's through the server: Firefox publishes (WHIP) to a Chromium
// viewer, and watches (WHEP) a Chromium publisher. VP8: Debian's Firefox has
// no H264 encoder.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import {
  firefoxMissing, firefoxPublish, firefoxPublisherVideo, firefoxViewerStats, firefoxWatch, launchFirefox, pageSdp,
} from './lib/firefox.mjs';
import { publisherVideo, startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

// Generous: two browsers, the server and its recorder share two slow cores.
const T = { media: 30000, end: 20000 };

let server, chromium, firefox;
let failed = false;
before(async () => {
  if (firefoxMissing) return;
  server = await startServer();
  chromium = await launchBrowser();
  firefox = await launchFirefox();
});
after(async () => {
  await firefox?.close().catch((e) => console.log('closing Firefox:', e.message));
  await chromium?.close();
  const exit = await server?.stop();
  if (failed || process.exitCode) console.log(server?.log());
  return exit;
});

// Runs `body(track)`, where track(label, page) registers a page. On failure
// prints what each Firefox page negotiated (offer, answer, ICE state) before
// the error goes up; either way ends every session and closes every page, so
// the next test starts clean.
function diagnosed(body) {
  return async () => {
    const pages = [];
    try {
      await body((label, page) => { pages.push([label, page]); return page; });
    } catch (e) {
      failed = true;
      for (const [label, page] of pages) {
        if (label.startsWith('Firefox')) console.log(`--- ${label} ---\n${await pageSdp(page)}`);
      }
      throw e;
    } finally {
      for (const [, page] of pages) {
        await page.evaluate(async () => { await window.pub?.stop(); await window.view?.stop(); }).catch(() => {});
        await page.close().catch(() => {});
      }
    }
  };
}

const liveStreams = async () => (await (await fetch(`${server.url}/api/streams?status=live`)).json()).streams;

test('Firefox publishes VP8 (WHIP); a Chromium viewer decodes it', { skip: firefoxMissing, timeout: 180000 }, diagnosed(async (track) => {
  const name = 'ff-pub';
  const publisher = track('Firefox publisher', await firefoxPublish(firefox, server, name, 'VP8'));
  assert.match(await publisher.evaluate(() => navigator.userAgent), /Firefox\//, 'the publisher is Firefox');
  const offer = await publisher.evaluate(() => window.pubOffer);
  assert.match(offer, /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/i, 'Firefox offered a loopback host candidate');
  assert.match(await publisher.evaluate(() => window.pubAnswer), /a=rtpmap:\d+ VP8\/90000/, 'the answer takes VP8');
  assert.match(await publisher.evaluate(() => window.pub.location), new RegExp(`/whip/${name}/[0-9a-f]+$`));

  // Firefox's encoder runs: frames encoded and packets sent over a connected pc.
  await waitFor(async () => {
    const p = await firefoxPublisherVideo(publisher);
    return p.state === 'connected' && p.frames > 30 && p.packets > 30;
  }, { timeout: T.media, what: 'Firefox to connect and send 30 encoded frames' }).catch(async (e) => {
    throw new Error(`${e.message}: ${JSON.stringify(await firefoxPublisherVideo(publisher))}`);
  });

  const live = await liveStreams();
  assert.deepEqual(live.map((s) => s.name), [name]);
  assert.equal(live[0].video_codec, 'VP8');

  const viewer = track('Chromium viewer', await startViewer(chromium, server, name));
  await waitFor(async () => (await viewerStats(viewer)).framesDecoded >= 60, {
    timeout: T.media, what: 'the Chromium viewer to decode 60 frames from Firefox',
  }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await viewerStats(viewer))}`); });
  const first = await viewerStats(viewer);
  assert.equal(first.videoCodec, 'video/VP8');
  await waitFor(async () => (await viewerStats(viewer)).audioPackets > 50, {
    timeout: T.media, what: 'the Chromium viewer to receive 50 audio packets from Firefox',
  });
  // What the viewer decodes is what Firefox sends (the fake camera's 640x480;
  // lock_scaling keeps it there).
  let pub, seen;
  await waitFor(async () => {
    pub = await firefoxPublisherVideo(publisher);
    seen = await viewerStats(viewer);
    return seen.width > 0 && seen.width === pub.width && seen.height === pub.height;
  }, { timeout: T.media, what: 'the viewer\'s resolution to match Firefox\'s' }).catch((e) => {
    throw new Error(`${e.message}: Firefox sends ${pub?.width}x${pub?.height}, Chromium decodes ${seen?.width}x${seen?.height}`);
  });
  assert.ok(pub.width >= 320 && pub.height >= 240, `Firefox sends ${pub.width}x${pub.height}`);
  // Still flowing, both kinds.
  const later = await waitFor(async () => {
    const s = await viewerStats(viewer);
    return s.framesDecoded > first.framesDecoded + 20 && s.audioPackets > first.audioPackets + 20 && s;
  }, { timeout: T.media, what: 'video and audio to keep flowing from Firefox' });
  assert.ok(later.audioSamples > 0, 'the viewer decoded audio samples');

  // Firefox stops (DELETE + close): the viewer is told, the name is free.
  await publisher.evaluate(() => window.pub.stop());
  await waitFor(async () => (await viewerStats(viewer)).ended, { timeout: T.end, what: 'the Chromium viewer to see the end' });
  await waitFor(async () => !(await liveStreams()).some((s) => s.name === name), { timeout: T.end, what: `"${name}" to leave the live list` });
}));

test('Firefox watches a Chromium VP8 publisher (WHEP)', { skip: firefoxMissing, timeout: 180000 }, diagnosed(async (track) => {
  const name = 'cr-pub';
  const publisher = track('Chromium publisher', await startPublisher(chromium, server, name, 'VP8'));
  const viewer = track('Firefox viewer', await firefoxWatch(firefox, server, name));
  assert.match(await viewer.evaluate(() => navigator.userAgent), /Firefox\//, 'the viewer is Firefox');
  assert.match(await viewer.evaluate(() => window.view.location), new RegExp(`/whep/${name}/[0-9a-f]+$`));

  await waitFor(async () => (await firefoxViewerStats(viewer)).framesDecoded > 30, {
    timeout: T.media, what: 'Firefox to decode more than 30 frames',
  }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await firefoxViewerStats(viewer))}`); });
  const first = await firefoxViewerStats(viewer);
  assert.equal(first.videoCodec, 'video/VP8');
  assert.equal(first.connection, 'connected');
  await waitFor(async () => (await firefoxViewerStats(viewer)).audioPackets > 20, {
    timeout: T.media, what: 'Firefox to receive 20 audio packets',
  }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await firefoxViewerStats(viewer))}`); });
  // The <video> plays it, at the resolution Chromium sends.
  let pub, seen;
  await waitFor(async () => {
    pub = await publisherVideo(publisher);
    seen = await firefoxViewerStats(viewer);
    return seen.elementWidth > 0 && seen.width === pub.width && seen.height === pub.height;
  }, { timeout: T.media, what: 'Firefox\'s <video> to show the publisher\'s resolution' }).catch((e) => {
    throw new Error(`${e.message}: Chromium sends ${pub?.width}x${pub?.height}, Firefox decodes ${seen?.width}x${seen?.height}, <video> ${seen?.elementWidth}x${seen?.elementHeight}`);
  });
  // Both kinds keep coming.
  const mark = await firefoxViewerStats(viewer);
  await waitFor(async () => {
    const s = await firefoxViewerStats(viewer);
    return s.framesDecoded > mark.framesDecoded + 20 && s.audioPackets > mark.audioPackets + 20;
  }, { timeout: T.media, what: 'video frames and audio packets to keep arriving at Firefox' });

  const live = await liveStreams();
  assert.equal(live.find((s) => s.name === name)?.viewers, 1);

  // Chromium stops: Firefox sees the end, the name is free.
  await publisher.evaluate(() => window.pub.stop());
  await waitFor(async () => (await firefoxViewerStats(viewer)).ended, { timeout: T.end, what: 'the Firefox viewer to see the end' })
    .catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await firefoxViewerStats(viewer))}`); });
  await waitFor(async () => !(await liveStreams()).some((s) => s.name === name), { timeout: T.end, what: `"${name}" to leave the live list` });
}));
