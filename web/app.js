// The built-in page: publish the camera with WHIP, watch streams with WHEP.
// Plain JS, no build step. window.lss exposes the same actions to scripts.
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

// answerFilter (optional): sdp -> sdp (or a promise of it), applied to the
// server's answer before setRemoteDescription (tests point ICE at a relay).
async function exchange(url, pc, key, answerFilter) {
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
  return new URL(res.headers.get('Location'), url).toString();
}

function preferCodec(transceiver, codec) {
  if (!codec || !RTCRtpSender.getCapabilities) return;
  const caps = RTCRtpSender.getCapabilities('video').codecs;
  const wanted = caps.filter((c) => c.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`);
  if (!wanted.length) throw new Error(`this browser cannot send ${codec}`);
  const rtx = caps.filter((c) => c.mimeType.toLowerCase() === 'video/rtx');
  transceiver.setCodecPreferences([...wanted, ...rtx]);
}

async function publish(name, { key = '', codec = '', stream = null, answerFilter = null } = {}) {
  if (!NAME_RE.test(name)) throw new Error('stream names are 1-64 characters of A-Z a-z 0-9 _ -');
  const media = stream || await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) {
    const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
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
      try { await fetch(location, { method: 'DELETE', headers: key ? { Authorization: `Bearer ${key}` } : {} }); } catch (_) {}
      pc.close();
      if (!stream) media.getTracks().forEach((t) => t.stop());
    },
  };
  return session;
}

async function watch(name, { answerFilter = null } = {}) {
  if (!NAME_RE.test(name)) throw new Error('stream names are 1-64 characters of A-Z a-z 0-9 _ -');
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const media = new MediaStream();
  pc.addEventListener('track', (e) => media.addTrack(e.track));
  let location;
  try {
    location = await exchange(`${location_origin()}/whep/${encodeURIComponent(name)}`, pc, '', answerFilter);
  } catch (e) {
    pc.close();
    throw e;
  }
  return {
    name, pc, media, location,
    async stop() {
      try { await fetch(location, { method: 'DELETE' }); } catch (_) {}
      pc.close();
    },
    // Ended when the server closed DTLS (publisher gone) or ICE failed.
    ended() {
      const t = pc.getReceivers()[0] && pc.getReceivers()[0].transport;
      return pc.connectionState === 'closed' || pc.connectionState === 'failed' || (t && t.state === 'closed');
    },
  };
}

function location_origin() { return window.location.origin; }

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

window.lss = { publish, watch, liveStreams, inboundStats };

// ---- UI ----------------------------------------------------------------

const $ = (id) => document.getElementById(id);
let publishing = null;

function setStatus(el, text, error = false) {
  el.textContent = text;
  el.classList.toggle('error', error);
}

$('publish-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const status = $('pub-status');
  $('pub-start').disabled = true;
  setStatus(status, 'Connecting…');
  try {
    publishing = await publish($('pub-name').value.trim(), { key: $('pub-key').value, codec: $('pub-codec').value });
    $('pub-preview').srcObject = publishing.media;
    $('pub-stop').disabled = false;
    setStatus(status, `Live as "${publishing.name}".`);
    publishing.pc.addEventListener('connectionstatechange', () => {
      if (publishing && ['failed', 'closed'].includes(publishing.pc.connectionState)) setStatus(status, 'Connection lost.', true);
    });
    refreshList();
  } catch (e) {
    setStatus(status, `Could not publish: ${e.message}`, true);
    $('pub-start').disabled = false;
  }
});

$('pub-stop').addEventListener('click', async () => {
  if (!publishing) return;
  await publishing.stop();
  publishing = null;
  $('pub-preview').srcObject = null;
  $('pub-stop').disabled = true;
  $('pub-start').disabled = false;
  setStatus($('pub-status'), 'Stopped.');
  refreshList();
});

$('watch-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  addPlayer($('watch-name').value.trim());
});

async function addPlayer(name) {
  const box = document.createElement('div');
  box.className = 'player';
  box.innerHTML = '<div class="bar"><strong></strong><button type="button" class="unmute">Unmute</button><button type="button" class="close">Close</button></div><p class="status"></p><video autoplay playsinline muted></video><div class="stats"></div>';
  box.querySelector('strong').textContent = name;
  box.dataset.stream = name;
  $('players').prepend(box);
  const status = box.querySelector('.status');
  const video = box.querySelector('video');
  setStatus(status, 'Connecting…');
  let session;
  try {
    session = await watch(name);
  } catch (e) {
    setStatus(status, `Could not watch: ${e.message}`, true);
    box.querySelector('.close').onclick = () => box.remove();
    return;
  }
  video.srcObject = session.media;
  setStatus(status, 'Watching.');
  box.querySelector('.unmute').onclick = (e) => { video.muted = !video.muted; e.target.textContent = video.muted ? 'Unmute' : 'Mute'; };
  let last = null;
  const timer = setInterval(async () => {
    if (session.ended()) {
      setStatus(status, 'The stream has ended.');
      clearInterval(timer);
      return;
    }
    const { video: v } = await inboundStats(session.pc);
    if (!v) return;
    const kbps = last ? Math.round(((v.bytesReceived - last.bytesReceived) * 8) / ((v.timestamp - last.timestamp) || 1)) : 0;
    last = v;
    box.querySelector('.stats').textContent =
      `${v.frameWidth || 0}×${v.frameHeight || 0} · ${Math.round(v.framesPerSecond || 0)} fps · ${kbps} kbit/s · lost ${v.packetsLost || 0}`;
  }, 1000);
  box.querySelector('.close').onclick = async () => { clearInterval(timer); await session.stop(); box.remove(); };
}

async function refreshList() {
  const list = $('live-list');
  let streams;
  try {
    streams = await liveStreams();
  } catch (_) {
    return;
  }
  list.replaceChildren();
  if (!streams.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No live streams.';
    list.append(li);
    return;
  }
  for (const s of streams) {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.textContent = 'Watch';
    btn.dataset.stream = s.name;
    btn.onclick = () => addPlayer(s.name);
    li.append(btn, ` ${s.name} — ${s.video_codec || 'no video'}${s.audio_codec ? ' + ' + s.audio_codec : ''}, ${s.viewers} watching`);
    list.append(li);
  }
}

async function refreshClips() {
  let clips;
  try {
    const res = await fetch('/api/clips?limit=500');
    if (!res.ok) return;
    clips = (await res.json()).clips;
  } catch (_) {
    return;
  }
  const list = $('clip-list');
  list.replaceChildren();
  if (!clips.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No clips yet.';
    list.append(li);
    return;
  }
  for (const c of clips.slice(-50).reverse()) {  // newest first
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = c.url;
    a.textContent = `${c.stream} #${c.index}`;
    a.className = 'clip-link';
    a.onclick = (ev) => {
      ev.preventDefault();
      const player = $('clip-player');
      player.hidden = false;
      player.src = c.url;
      player.play().catch(() => {});
    };
    li.append(a, ` — ${c.started_at}, ${c.duration.toFixed(1)} s, ${(c.bytes / 1e6).toFixed(2)} MB, ${c.video_codec || ''}${c.width ? ` ${c.width}×${c.height}` : ''}`);
    list.append(li);
  }
}

$('rec-refresh').addEventListener('click', refreshClips);
refreshList();
refreshClips();
setInterval(refreshList, 3000);
setInterval(refreshClips, 5000);
