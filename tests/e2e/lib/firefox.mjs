// Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi: a
// second, independent WebRTC stack (Gecko's) next to Chromium's.
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';

import { installAnswerFilter } from './blocked.mjs';
import { waitFor } from './browser.mjs';

export const firefoxBin = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const firefoxMissing = !fs.existsSync(firefoxBin) && `${firefoxBin} is not installed`;

// Prefs for a fake camera/microphone that needs no prompt, and for ICE on a
// loopback-only network namespace.
export const firefoxPrefs = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.navigator.permission.fake': true,
  // Without camera permission Firefox gathers only its "default address",
  // which needs a default route: in the test namespace, no candidate at all.
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.peerconnection.ice.loopback': true,
  // Keep the fake camera's resolution on a slow machine.
  'media.peerconnection.video.lock_scaling': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Quiet: nothing to fetch, nowhere to go.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
};

// A fresh profile per launch (puppeteer makes a temporary one and removes it
// on close).
export async function launchFirefox(extraPrefs = {}) {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxBin,
    headless: true,
    protocolTimeout: 60000,
    timeout: 60000,
    extraPrefsFirefox: { ...firefoxPrefs, ...extraPrefs },
  });
}

// A page of the server's built-in UI in Firefox.
export async function openFirefoxPage(browser, server) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('firefox page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.log('firefox console:', m.text()); });
  await page.goto(`${server.url}/`, { timeout: 30000 });
  await page.waitForFunction(() => window.lss !== undefined, { timeout: 30000 });
  return page;
}

// `only` below: Firefox has no UDP port range to firewall (lib/blocked.mjs
// does that for Chromium), so a Firefox "behind a firewall that lets no UDP
// through" is one offered the answer's TCP candidates only.

// Publishes Firefox's fake camera and microphone (WHIP). The offer and the
// answer stay on the page (window.pubOffer/pubAnswer) for failure reports.
// `only`: keep only the answer's 'udp' or 'tcp' candidates.
export async function firefoxPublish(browser, server, name, codec = 'VP8', { only = null } = {}) {
  const page = await openFirefoxPage(browser, server);
  await installAnswerFilter(page);
  const err = await page.evaluate(async (name, codec, only) => {
    try {
      window.pub = await window.lss.publish(name, { codec, answerFilter: window.lssOnly(only) });
      window.pubOffer = window.pub.pc.localDescription.sdp;
      window.pubAnswer = window.pub.pc.remoteDescription.sdp;
      return null;
    } catch (e) {
      return String(e && e.message || e);
    }
  }, name, codec, only);
  if (err) throw new Error(`Firefox could not publish "${name}": ${err}`);
  return page;
}

export async function firefoxPublisherVideo(page) {
  return page.evaluate(async () => {
    let out = null;
    (await window.pub.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out = { width: s.frameWidth || 0, height: s.frameHeight || 0, frames: s.framesEncoded || 0, packets: s.packetsSent || 0 };
      }
    });
    const settings = window.pub.media.getVideoTracks()[0].getSettings();
    return { ...out, trackWidth: settings.width, trackHeight: settings.height, state: window.pub.pc.connectionState };
  });
}

// Watches `name` in Firefox (WHEP) and plays it in a <video>. `only`: keep
// only the answer's 'udp' or 'tcp' candidates.
export async function firefoxWatch(browser, server, name, { only = null } = {}) {
  const page = await openFirefoxPage(browser, server);
  await installAnswerFilter(page);
  const err = await page.evaluate(async (name, only) => {
    try {
      window.view = await window.lss.watch(name, { answerFilter: window.lssOnly(only) });
    } catch (e) {
      return String(e && e.message || e);
    }
    const el = document.createElement('video');
    el.id = 'remote';
    el.autoplay = true;
    el.muted = true;
    el.playsInline = true;
    el.srcObject = window.view.media;
    document.body.append(el);
    el.play().catch(() => {});
    return null;
  }, name, only);
  if (err) throw new Error(`Firefox could not watch "${name}": ${err}`);
  return page;
}

export async function firefoxViewerStats(page) {
  return page.evaluate(async () => {
    const { video, audio } = await window.lss.inboundStats(window.view.pc);
    let codec = null;
    if (video && video.codecId) {
      (await window.view.pc.getStats()).forEach((s) => { if (s.id === video.codecId) codec = s.mimeType; });
    }
    const el = document.getElementById('remote');
    return {
      framesDecoded: video ? video.framesDecoded || 0 : 0,
      width: video ? video.frameWidth || 0 : 0,
      height: video ? video.frameHeight || 0 : 0,
      videoCodec: codec,
      audioPackets: audio ? audio.packetsReceived || 0 : 0,
      elementWidth: el ? el.videoWidth : 0,
      elementHeight: el ? el.videoHeight : 0,
      connection: window.view.pc.connectionState,
      ice: window.view.pc.iceConnectionState,
      ended: window.view.ended(),
    };
  });
}

// The candidate pair Firefox sends on for window[which].pc ('view' or
// 'pub'): {protocol, localType, tcpType, remoteProtocol, remotePort, state},
// or null while there is none. Firefox marks it `selected` (it has no
// transport stats).
export async function firefoxSelectedPair(page, which = 'view') {
  return page.evaluate(async (which) => {
    const stats = await window[which].pc.getStats();
    let pair = null;
    stats.forEach((r) => { if (r.type === 'candidate-pair' && r.selected) pair = r; });
    if (!pair) return null;
    const l = stats.get(pair.localCandidateId) || {};
    const r = stats.get(pair.remoteCandidateId) || {};
    return {
      protocol: l.protocol, localType: l.candidateType, tcpType: l.tcpType || null,
      remoteProtocol: r.protocol, remotePort: r.port, state: pair.state,
    };
  }, which);
}

// The SDPs of the page's session (publisher or viewer), for failure reports.
export async function pageSdp(page) {
  return page.evaluate(() => {
    const s = window.pub || window.view;
    if (!s) return 'no session';
    return `offer:\n${s.pc.localDescription?.sdp}\nanswer:\n${s.pc.remoteDescription?.sdp}\n` +
      `connectionState=${s.pc.connectionState} iceConnectionState=${s.pc.iceConnectionState}`;
  }).catch((e) => `(page gone: ${e.message})`);
}

export { waitFor };
