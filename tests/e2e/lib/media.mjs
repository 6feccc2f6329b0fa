// Page-side helpers shared by the media tests.
import { openPage, waitFor } from './browser.mjs';

export async function startPublisher(browser, server, name, codec = '', key = '') {
  const page = await openPage(browser, server);
  await page.evaluate(async ({ name, codec, key }) => {
    window.pub = await window.lss.publish(name, { codec, key });
  }, { name, codec, key });
  return page;
}

export async function publisherVideo(page) {
  return page.evaluate(async () => {
    let out = null;
    (await window.pub.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') out = { width: s.frameWidth, height: s.frameHeight, frames: s.framesEncoded };
    });
    return out;
  });
}

// Starts a WHEP viewer; returns the page and the time from POST to answer.
export async function startViewer(browser, server, name) {
  const page = await openPage(browser, server);
  await page.evaluate(async (name) => {
    window.viewStart = performance.now();
    window.view = await window.lss.watch(name);
    // Play it as a person would: Chromium decodes audio only for a sink.
    const el = document.createElement('video');
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = window.view.media;
    document.body.append(el);
    el.play().catch(() => {});
  }, name);
  return page;
}

export async function viewerStats(page) {
  return page.evaluate(async () => {
    const { video, audio } = await window.lss.inboundStats(window.view.pc);
    let codec = null;
    if (video && video.codecId) {
      (await window.view.pc.getStats()).forEach((s) => { if (s.id === video.codecId) codec = s.mimeType; });
    }
    return {
      framesDecoded: video ? video.framesDecoded || 0 : 0,
      width: video ? video.frameWidth || 0 : 0,
      height: video ? video.frameHeight || 0 : 0,
      videoCodec: codec,
      audioPackets: audio ? audio.packetsReceived || 0 : 0,
      audioSamples: audio ? audio.totalSamplesReceived || 0 : 0,
      ended: window.view.ended(),
    };
  });
}

// Milliseconds from the viewer's POST to its first decoded frame.
export async function timeToFirstFrame(page, timeout = 10000) {
  await waitFor(async () => (await viewerStats(page)).framesDecoded > 0, { timeout, interval: 50, what: 'first frame' });
  return page.evaluate(() => performance.now() - window.viewStart);
}

export async function expectDecoding(page, publisher, { minFrames = 30 } = {}) {
  await waitFor(async () => (await viewerStats(page)).framesDecoded >= minFrames, { timeout: 15000, what: `${minFrames} decoded frames` });
  await waitFor(async () => (await viewerStats(page)).audioPackets > 20, { timeout: 10000, what: 'audio packets' });
  const pub = await publisherVideo(publisher);
  // The viewer decodes what the publisher sends (the fake camera is 640x480;
  // the encoder may scale down while its bandwidth estimate ramps up).
  await waitFor(async () => {
    const v = await viewerStats(page);
    const p = await publisherVideo(publisher);
    return v.width > 0 && v.width === p.width && v.height === p.height;
  }, { timeout: 10000, what: `viewer resolution to match the publisher's (${pub.width}x${pub.height})` });
  return viewerStats(page);
}

// Makes window.lssRelayFilter on `page`: an answerFilter that splices
// `relay` (lib/impair.mjs) into the session. The server's candidates in the
// answer are rewritten to the relay's address (any TCP candidate is dropped,
// so the relay is the only path), and the relay is pointed at the server
// candidate it replaces (the session's media worker port) and told the
// answer's RTX payload types (counted as resends), before
// setRemoteDescription.
async function installRelayFilter(page, relay) {
  await page.exposeFunction('lssRelayTarget', (host, port, rtxPts) => {
    if (!relay.target()) relay.setTarget({ host, port: Number(port) });
    relay.setRtxPayloadTypes(rtxPts);
    return relay.target();
  });
  await page.evaluate(({ host, port }) => {
    window.lssRelayFilter = async (sdp) => {
      const cand = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ/im.exec(sdp);
      if (!cand) throw new Error('no UDP candidate in the answer');
      const rtx = [...sdp.matchAll(/^a=rtpmap:(\d+) rtx\//gim)].map((m) => Number(m[1]));
      await window.lssRelayTarget(cand[1], cand[2], rtx);
      return sdp.split(/\r?\n/).filter((l) => l !== '').flatMap((l) => {
        const m = /^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) (typ .*)$/i.exec(l);
        if (!m) return [l];
        if (m[3].toLowerCase() !== 'udp') return [];
        return [`a=candidate:${m[1]} ${m[2]} ${m[3]} ${m[4]} ${host} ${port} ${m[7]}`];
      }).join('\r\n') + '\r\n';
    };
  }, { host: relay.host, port: relay.port });
}

// Starts a WHEP viewer whose ICE goes through `relay` (see
// installRelayFilter). Plays it like startViewer; window.viewAnswer keeps the
// rewritten answer.
export async function startImpairedViewer(browser, server, name, relay) {
  const page = await openPage(browser, server);
  await installRelayFilter(page, relay);
  await page.evaluate(async (name) => {
    window.viewStart = performance.now();
    window.view = await window.lss.watch(name, { answerFilter: window.lssRelayFilter });
    window.viewAnswer = window.view.pc.remoteDescription.sdp;
    const el = document.createElement('video');
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = window.view.media;
    document.body.append(el);
    el.play().catch(() => {});
  }, name);
  return page;
}

// Starts a WHIP publisher (window.pub, like startPublisher) whose ICE goes
// through `relay` (see installRelayFilter); `opts` go to lss.publish.
export async function startImpairedPublisher(browser, server, name, relay, opts = {}) {
  const page = await openPage(browser, server);
  await installRelayFilter(page, relay);
  await page.evaluate(async ({ name, opts }) => {
    window.pub = await window.lss.publish(name, { ...opts, answerFilter: window.lssRelayFilter });
  }, { name, opts });
  return page;
}
