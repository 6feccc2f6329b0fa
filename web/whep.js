// The WHIP/WHEP client shared by the built-in pages (index.html, watch.html):
// publish a camera, watch a stream. Plain JS, no build step; window.lss
// exposes it to the pages and to scripts.
'use strict';

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

// Non-trickle WHIP/WHEP: the server is ICE-lite and takes the whole offer.
function gatheringComplete(pc, timeoutMs = 1000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); pc.removeEventListener('icegatheringstatechange', check); resolve(); };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// ICE servers (STUN/TURN) the server announces as RFC 9725 Link headers:
// `<turn:host:port>; rel="ice-server"; username="..."; credential="..."`.
// Several Link headers arrive joined by ", ".
function parseIceServerLinks(header) {
  const servers = [];
  const token = "[A-Za-z0-9!#$%&'*+.^_`|~-]+";
  const param = `;\\s*(${token})(?:\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;,]*)))?`;
  const link = new RegExp(`<([^>]*)>((?:\\s*${param})*)`, 'g');
  for (const m of (header || '').matchAll(link)) {
    const params = {};
    for (const p of m[2].matchAll(new RegExp(param, 'g'))) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] || '').trim();
    }
    if (!(params.rel || '').split(/\s+/).includes('ice-server')) continue;
    const server = { urls: m[1] };
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    servers.push(server);
  }
  return servers;
}

// The ICE servers for `url`, asked with OPTIONS before the offer is made:
// a non-trickle client puts all its candidates in the offer, so TURN must
// be known before gathering (the 201's Links come too late for that offer).
async function fetchIceServers(url, key) {
  try {
    const res = await fetch(url, { method: 'OPTIONS', headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return parseIceServerLinks(res.headers.get('Link'));
  } catch (_) {
    return [];
  }
}

// The ICE part of our offer as an RFC 8840 SDP fragment: credentials, the
// first (bundle-tag) m= line with its mid and candidates.
function iceFragment(sdp) {
  let ufrag = null, pwd = null, mline = null, mid = null, sections = 0;
  const candidates = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) { if (++sections > 1) break; mline = line; continue; }
    if (line.startsWith('a=ice-ufrag:')) ufrag = ufrag || line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) pwd = pwd || line.slice(10);
    else if (sections && line.startsWith('a=mid:')) mid = mid || line.slice(6);
    else if (sections && line.startsWith('a=candidate:')) candidates.push(line);
  }
  return [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, mline, `a=mid:${mid}`, ...candidates,
    'a=end-of-candidates', ''].join('\r\n');
}

// ICE restart over WHIP/WHEP (RFC 9725 §4.4): a restart offer, its ICE part
// PATCHed with If-Match: *, and the server's new ufrag/pwd put into the
// remote description (its candidates and everything else stay: the
// DTLS association, SSRCs and codecs are unchanged). Runs when the
// page's RTCPeerConnection needs it: pc.restartIce() by a script, or the
// connection lost for 2 s (a new network). Returns `restart()`.
function enableIceRestart(session, key) {
  const { pc } = session;
  let running = null;
  session.iceRestarts = 0;
  const run = async () => {
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    try {
      await gatheringComplete(pc);
      const headers = { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*' };
      if (key) headers.Authorization = `Bearer ${key}`;
      const res = await fetch(session.location, { method: 'PATCH', headers, body: iceFragment(pc.localDescription.sdp) });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`ICE restart refused: ${res.status} ${body.trim()}`);
      const ufrag = /^a=ice-ufrag:(.*)$/m.exec(body), pwd = /^a=ice-pwd:(.*)$/m.exec(body);
      if (!ufrag || !pwd) throw new Error('ICE restart answer without ice-ufrag/ice-pwd');
      const sdp = pc.remoteDescription.sdp
        .replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${ufrag[1].trim()}`)
        .replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${pwd[1].trim()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp });
      session.etag = res.headers.get('ETag');
      session.iceRestarts++;
    } catch (e) {
      // The old ICE session goes on (the server keeps it too).
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
      throw e;
    }
  };
  const restart = () => {
    if (!running) {
      running = run().catch((e) => { session.iceRestartError = e.message; throw e; })
        .finally(() => { running = null; });
    }
    return running;
  };
  pc.addEventListener('negotiationneeded', () => {
    if (pc.signalingState === 'stable' && pc.remoteDescription && !session.stopped) restart().catch(() => {});
  });
  pc.addEventListener('iceconnectionstatechange', () => {
    if (!['disconnected', 'failed'].includes(pc.iceConnectionState)) return;
    setTimeout(() => {
      const dtls = pc.getTransceivers()[0] && pc.getTransceivers()[0].sender.transport;
      if (session.stopped || (dtls && dtls.state === 'closed')) return;  // ended, not lost
      if (['disconnected', 'failed'].includes(pc.iceConnectionState)) pc.restartIce();
    }, 2000);
  });
  return () => { pc.restartIce(); return restart(); };
}

// answerFilter (optional): sdp -> sdp (or a promise of it), applied to the
// server's answer before setRemoteDescription (tests point ICE at a relay).
async function exchange(url, pc, key, answerFilter) {
  const iceServers = await fetchIceServers(url, key);
  if (iceServers.length) pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  const headers = { 'Content-Type': 'application/sdp' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
  const body = await res.text();
  if (res.status !== 201) {
    const err = new Error(`${res.status} ${res.statusText}: ${body.trim()}`);
    err.status = res.status;
    throw err;
  }
  const sdp = answerFilter ? await answerFilter(body) : body;
  await pc.setRemoteDescription({ type: 'answer', sdp });
  // A server that announces ICE servers only in its 201: too late for this
  // offer, kept for the next gathering (an ICE restart).
  const linked = parseIceServerLinks(res.headers.get('Link'));
  if (!iceServers.length && linked.length) pc.setConfiguration({ ...pc.getConfiguration(), iceServers: linked });
  // Relative to where the answer came from: a cluster node may have
  // redirected the offer (307) to the node that has the stream.
  return new URL(res.headers.get('Location'), res.url || url).toString();
}

function preferCodec(transceiver, codec) {
  if (!codec || !RTCRtpSender.getCapabilities) return;
  const caps = RTCRtpSender.getCapabilities('video').codecs;
  const wanted = caps.filter((c) => c.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`);
  if (!wanted.length) throw new Error(`this browser cannot send ${codec}`);
  const rtx = caps.filter((c) => c.mimeType.toLowerCase() === 'video/rtx');
  transceiver.setCodecPreferences([...wanted, ...rtx]);
}

// Simulcast: three encodings of the camera, told apart by their rid (RFC
// 8851), listed slowest first; the server gives each viewer the best one its
// path carries. The rates follow the usual ladder for a 720p camera:
// - 'q', a quarter of the size (320x180), 150 kbit/s: still moving pictures
//   for a viewer on a poor mobile link, with room left for audio and repairs;
// - 'h', half (640x360), 500 kbit/s: fits a ~1 Mbit/s link with headroom;
// - 'f', full size (1280x720), 2 Mbit/s (or `maxBitrate`): good 720p30 VP8.
// Together ~2.65 Mbit/s of upload; the browser sends the upper layers only
// while its own estimate of the uplink allows, and drops layers it cannot
// make (e.g. below ~960x540 it sends fewer layers).
const SIMULCAST_ENCODINGS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 2_000_000 },
];

// Options: key (stream key), codec ('' = the browser's choice), stream (a
// MediaStream to send instead of the camera), simulcast (true: three layers,
// above; the camera is then asked for 1280x720), maxBitrate (bit/s of the
// video, of the top layer with simulcast), answerFilter (tests),
// iceTransportPolicy ('relay': only through the server's TURN servers).
async function publish(name, { key = '', codec = '', stream = null, answerFilter = null, simulcast = false, maxBitrate = 0, iceTransportPolicy = 'all' } = {}) {
  if (!NAME_RE.test(name)) throw new Error('stream names are 1-64 characters of A-Z a-z 0-9 _ -');
  const video = simulcast ? { width: { ideal: 1280 }, height: { ideal: 720 } } : true;
  if (!stream && !window.isSecureContext) throw new Error(insecureCameraMessage());
  const media = stream || await navigator.mediaDevices.getUserMedia({ video, audio: true });
  const pc = new RTCPeerConnection({ iceTransportPolicy });
  for (const track of media.getTracks()) {
    const init = { direction: 'sendonly', streams: [media] };
    if (track.kind === 'video' && simulcast) {
      init.sendEncodings = SIMULCAST_ENCODINGS.map((e, i) =>
        (maxBitrate && i === SIMULCAST_ENCODINGS.length - 1 ? { ...e, maxBitrate } : { ...e }));
    } else if (track.kind === 'video' && maxBitrate) {
      init.sendEncodings = [{ maxBitrate }];
    }
    const t = pc.addTransceiver(track, init);
    if (track.kind === 'video') preferCodec(t, codec);
  }
  let location;
  try {
    location = await exchange(`${location_origin()}/whip/${encodeURIComponent(name)}`, pc, key, answerFilter);
  } catch (e) {
    pc.close();
    if (!stream) media.getTracks().forEach((t) => t.stop());
    throw e;
  }
  const session = {
    name, pc, media, location,
    async stop() {
      session.stopped = true;
      try { await fetch(location, { method: 'DELETE', headers: key ? { Authorization: `Bearer ${key}` } : {} }); } catch (_) {}
      pc.close();
      if (!stream) media.getTracks().forEach((t) => t.stop());
    },
  };
  session.restartIce = enableIceRestart(session, key);
  return session;
}

// Options: answerFilter (tests), iceTransportPolicy ('relay': only through
// the server's TURN servers), maxLayer (a small player's ceiling: 0 for the
// smallest simulcast layer).
async function watch(name, { answerFilter = null, iceTransportPolicy = 'all', maxLayer = null } = {}) {
  if (!NAME_RE.test(name)) throw new Error('stream names are 1-64 characters of A-Z a-z 0-9 _ -');
  const pc = new RTCPeerConnection({ iceTransportPolicy });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const media = new MediaStream();
  pc.addEventListener('track', (e) => media.addTrack(e.track));
  let location;
  try {
    const query = maxLayer === null ? '' : `?maxLayer=${Number(maxLayer)}`;
    location = await exchange(`${location_origin()}/whep/${encodeURIComponent(name)}${query}`, pc, '', answerFilter);
  } catch (e) {
    pc.close();
    throw e;
  }
  const session = {
    name, pc, media, location,
    async stop() {
      session.stopped = true;
      try { await fetch(location, { method: 'DELETE' }); } catch (_) {}
      pc.close();
    },
    // Ended when the server closed DTLS (publisher gone) or ICE failed.
    ended() {
      const t = pc.getReceivers()[0] && pc.getReceivers()[0].transport;
      return pc.connectionState === 'closed' || pc.connectionState === 'failed' || (t && t.state === 'closed');
    },
  };
  session.restartIce = enableIceRestart(session, '');
  return session;
}

function location_origin() { return window.location.origin; }

// Browsers give the camera only to secure contexts: https:// pages, or
// http://localhost and 127.0.0.1 (http://live.example.com is not one), and
// otherwise publishing would fail with no word of why.
function insecureCameraMessage() {
  return `the camera needs HTTPS or localhost: the browser gives no camera to ${window.location.origin}. `
    + 'Open this page over https:// (the server with TLS_CERT and TLS_KEY) or as http://localhost.';
}

async function liveStreams() {
  const res = await fetch('/api/streams?status=live');
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return (await res.json()).streams;
}

// Inbound video/audio numbers for the stats line and for tests.
async function inboundStats(pc) {
  const out = { video: null, audio: null };
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.kind === 'audio')) out[s.kind] = s;
  });
  return out;
}

window.lss = { publish, watch, liveStreams, inboundStats, NAME_RE };
