// The built-in page: publish the camera with WHIP, watch streams with WHEP.
// Plain JS, no build step. The WHIP/WHEP client (publish, watch, ...;
// window.lss) is whep.js, which index.html loads first.
'use strict';

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
    publishing = await publish($('pub-name').value.trim(),
      { key: $('pub-key').value, codec: $('pub-codec').value, simulcast: $('pub-simulcast').checked });
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

// ---- Live streams: watch here, or the stream's own page and embed code ----

function formatBitrate(bps) {
  if (typeof bps !== 'number') return '';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}

function watchPageUrl(name) {
  return `${window.location.origin}/watch/${encodeURIComponent(name)}`;
}

function embedCode(name) {
  return `<iframe src="${watchPageUrl(name)}" width="640" height="360" allow="autoplay; fullscreen" allowfullscreen style="border:0"></iframe>`;
}

// The clipboard API needs a secure context; elsewhere the input's selection.
async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch (_) { return false; }
  }
}

function liveItem(name) {
  const li = document.createElement('li');
  li.className = 'live-stream';
  li.dataset.stream = name;
  li.innerHTML = '<div class="row"><button type="button" class="watch">Watch</button> <strong class="name"></strong>'
    + ' <span class="info"></span> <a class="watch-page" target="_blank" rel="noopener">Watch page</a></div>'
    + '<div class="embed"><input class="embed-code" readonly aria-label="Embed code" spellcheck="false">'
    + '<button type="button" class="copy">Copy embed code</button></div>';
  li.querySelector('.name').textContent = name;
  const watchButton = li.querySelector('button.watch');
  watchButton.dataset.stream = name;
  watchButton.onclick = () => addPlayer(name);
  li.querySelector('a.watch-page').href = watchPageUrl(name);
  const code = li.querySelector('.embed-code');
  code.value = embedCode(name);
  code.onfocus = () => code.select();
  const copy = li.querySelector('button.copy');
  copy.onclick = async () => {
    const ok = await copyText(code.value, code);
    copy.textContent = ok ? 'Copied' : 'Press Ctrl+C to copy';
    clearTimeout(copy.timer);
    copy.timer = setTimeout(() => { copy.textContent = 'Copy embed code'; }, 2000);
  };
  return li;
}

function showLive(li, s) {
  const info = li.querySelector('.info');
  const codecs = `${s.video_codec || 'no video'}${s.audio_codec ? ' + ' + s.audio_codec : ''}`;
  const viewers = document.createElement('span');
  viewers.className = 'viewers';
  viewers.textContent = `${s.viewers} watching`;
  const bitrate = document.createElement('span');
  bitrate.className = 'bitrate';
  bitrate.textContent = formatBitrate(s.bitrate_bps);
  // In a cluster: the node the stream is on (watching it here still works).
  const node = document.createElement('span');
  node.className = 'node';
  node.textContent = s.node ? `on ${s.node}` : '';
  info.replaceChildren(`${codecs} · `, viewers, ...(bitrate.textContent ? [' · ', bitrate] : []),
    ...(node.textContent ? [' · ', node] : []));
}

// Updated in place (by name) so a selection or a "Copied" stays put.
async function refreshList() {
  const list = $('live-list');
  let streams;
  try {
    streams = await liveStreams();
  } catch (_) {
    return;
  }
  const items = new Map([...list.querySelectorAll('li.live-stream')].map((li) => [li.dataset.stream, li]));
  for (const li of list.querySelectorAll('li.empty')) li.remove();
  for (const s of streams.sort((a, b) => a.name.localeCompare(b.name))) {
    let li = items.get(s.name);
    if (li) {
      items.delete(s.name);
    } else {
      li = liveItem(s.name);
      list.append(li);
    }
    showLive(li, s);
  }
  for (const li of items.values()) li.remove();
  if (!streams.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No live streams.';
    list.append(li);
  }
}

// ---- Recordings, searchable by stream name -------------------------------

async function fetchClips(params = {}) {
  const res = await fetch(`/api/clips?${new URLSearchParams({ limit: 500, ...params })}`);
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return (await res.json()).clips;
}

// The clips of streams whose name contains `query` (any case); the API
// matches whole names (or a stream's id) exactly, which is asked too.
async function searchClips(query) {
  if (!query) return fetchClips();
  const [all, exact] = await Promise.all([fetchClips(), NAME_RE.test(query) ? fetchClips({ stream: query }) : []]);
  const needle = query.toLowerCase();
  const seen = new Set();
  const out = [];
  for (const c of [...all.filter((c) => c.stream.toLowerCase().includes(needle)), ...exact]) {
    const key = `${c.stream_id}/${c.index}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out.sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.index - b.index));
}

let shownClips = null;  // what the list shows, to leave it alone when nothing changed

async function refreshClips() {
  const query = $('rec-search').value.trim();
  let clips;
  try {
    clips = await searchClips(query);
  } catch (_) {
    return;
  }
  if (query !== $('rec-search').value.trim()) return;  // typed on meanwhile: a newer search follows
  const shown = clips.slice(-50).reverse();  // newest first
  const key = JSON.stringify([query, shown.map((c) => [c.stream_id, c.index, c.url])]);
  if (key === shownClips) return;
  shownClips = key;
  setStatus($('rec-status'), !query ? ''
    : clips.length ? `${clips.length} clip${clips.length === 1 ? '' : 's'} of streams named like "${query}"${clips.length > shown.length ? `, the newest ${shown.length} shown` : ''}.`
      : `No clips of a stream named like "${query}".`);
  const list = $('clip-list');
  list.replaceChildren();
  if (!clips.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = query ? 'No clips found.' : 'No clips yet.';
    list.append(li);
    return;
  }
  for (const c of shown) {
    const li = document.createElement('li');
    li.dataset.stream = c.stream;
    const a = document.createElement('a');
    a.href = c.url;
    a.textContent = `${c.stream} #${c.index}`;
    a.className = 'clip-link';
    a.title = 'Play';
    a.onclick = (ev) => {
      ev.preventDefault();
      const player = $('clip-player');
      player.hidden = false;
      player.src = c.url;
      player.play().catch(() => {});
    };
    const download = document.createElement('a');
    download.href = c.url;
    download.className = 'clip-download';
    download.textContent = 'Download';
    download.download = c.object_key ? c.object_key.split('/').pop() : '';
    li.append(a, ` — ${c.started_at}, ${c.duration.toFixed(1)} s, ${(c.bytes / 1e6).toFixed(2)} MB, ${c.video_codec || ''}${c.width ? ` ${c.width}×${c.height}` : ''} `, download);
    list.append(li);
  }
}

let searchTimer = null;
$('rec-search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(refreshClips, 300);
});
$('rec-search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearTimeout(searchTimer);
  refreshClips();
});
$('rec-refresh').addEventListener('click', () => { shownClips = null; refreshClips(); });
refreshList();
refreshClips();
setInterval(refreshList, 3000);
setInterval(refreshClips, 5000);
