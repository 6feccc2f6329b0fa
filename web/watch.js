// The player page of one stream, /watch/{stream} (watch.html): plays it
// muted as soon as it is live, waits for it when it is not live yet, comes
// back by itself after a network drop, and says when it has ended.
// document.body.dataset.state is 'waiting', 'live' or 'ended' (or 'invalid'
// for a bad name); window.watchPage holds the state for scripts and tests.
'use strict';

(() => {
  const { watch, inboundStats, NAME_RE } = window.lss;
  const POLL_MS = 2000;       // how often a waiting page asks whether the stream is live
  const CHECK_MS = 1000;      // how often a playing page checks its connection
  const ICE_GRACE_MS = 5000;  // ICE down this long (whep.js tries an ICE restart first): new session
  const STALL_MS = 8000;      // no media this long: new session
  const BACKOFF_MS = [0, 1000, 2000, 4000, 8000, 10000];

  const $ = (id) => document.getElementById(id);
  const video = $('video');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // The stream name is the last part of the path: /watch/{stream}.
  let name = '';
  try {
    name = decodeURIComponent(window.location.pathname.split('/').pop() || '');
  } catch (_) { /* malformed %-escape: not a name */ }

  const page = window.watchPage = {
    name,
    state: null,
    session: null,     // the current WHEP session (whep.js), if any
    sessions: 0,       // WHEP sessions opened
    reconnects: 0,     // sessions opened again after a live one was lost
    lost: [],          // why each session ended: 'closed', 'ice', 'stalled'
  };

  function setState(state, text) {
    page.state = state;
    document.body.dataset.state = state;
    $('message-text').textContent = text;
    $('message').hidden = !text;
  }

  // true or false, or null when the server cannot be reached.
  async function isLive() {
    try {
      const res = await fetch('/api/streams?status=live', { cache: 'no-store' });
      if (!res.ok) return null;
      return (await res.json()).streams.some((s) => s.name === name);
    } catch (_) {
      return null;
    }
  }

  function play() {
    video.play().then(() => { $('play').hidden = true; }).catch(() => {
      // Autoplay refused (a browser or iframe that allows none): one click.
      $('play').hidden = false;
    });
  }

  // Resolves with why the session was lost: the server closed it (the
  // stream ended, or the server dropped the viewer), ICE stayed down, or no
  // media arrived for a while.
  function supervise(session) {
    return new Promise((resolve) => {
      const start = Date.now();
      let lastBytes = -1, lastProgress = start, iceDownSince = 0, busy = false;
      const finish = (why) => { clearInterval(timer); resolve(why); };
      const timer = setInterval(async () => {
        if (busy) return;
        if (session.ended()) return finish('closed');
        const pc = session.pc;
        if (['disconnected', 'failed'].includes(pc.iceConnectionState)) {
          iceDownSince = iceDownSince || Date.now();
          if (Date.now() - iceDownSince > ICE_GRACE_MS) return finish('ice');
        } else {
          iceDownSince = 0;
        }
        busy = true;
        let stats;
        try {
          stats = await inboundStats(pc);
        } catch (_) {
          return finish('closed');
        } finally {
          busy = false;
        }
        const bytes = (stats.video ? stats.video.bytesReceived : 0) + (stats.audio ? stats.audio.bytesReceived : 0);
        if (bytes > lastBytes) {
          lastBytes = bytes;
          lastProgress = Date.now();
        } else if (Date.now() - lastProgress > STALL_MS) {
          return finish('stalled');
        }
        const pictures = (stats.video && stats.video.framesDecoded > 0) || video.videoWidth > 0;
        // A stream without video is live once its sound arrives.
        const soundOnly = !(stats.video && stats.video.bytesReceived > 0) && stats.audio
          && stats.audio.bytesReceived > 0 && Date.now() - start > 3000;
        if (pictures || soundOnly) {
          if (page.state !== 'live') {
            setState('live', '');
            page.liveSince = Date.now();
          }
        }
      }, CHECK_MS);
    });
  }

  async function run() {
    let failures = 0;  // consecutive sessions lost or refused, for the backoff
    let wasLive = false;
    for (;;) {
      const live = await isLive();
      if (live !== true) {
        if (live === false && wasLive) {
          setState('ended', 'The stream has ended.');
          video.srcObject = null;
        } else if (page.state !== 'ended') {
          setState('waiting', live === null ? 'Reconnecting…' : 'Waiting for the stream…');
        }
        await sleep(POLL_MS);
        continue;
      }
      setState('waiting', wasLive && page.state !== 'ended' ? 'Reconnecting…' : 'Connecting…');
      let session;
      try {
        session = await watch(name);
      } catch (e) {
        // 404: it ended between the two requests (the next check says so).
        if (e.status !== 404) {
          setState('waiting', wasLive ? 'Reconnecting…' : 'Waiting for the stream…');
          failures++;
        }
        await sleep(e.status === 404 ? POLL_MS : BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] || 1000);
        continue;
      }
      page.session = session;
      page.sessions++;
      if (wasLive) page.reconnects++;
      page.liveSince = 0;
      video.srcObject = session.media;
      play();
      const why = await supervise(session);
      page.lost.push(why);
      page.session = null;
      session.stop().catch(() => {});
      if (page.liveSince) wasLive = true;
      // A session that played a while starts the backoff afresh.
      failures = page.liveSince && Date.now() - page.liveSince > 10000 ? 1 : failures + 1;
      const delay = BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)];
      setState('waiting', 'Reconnecting…');  // the last frame stays under the message
      if (delay) await sleep(delay);
    }
  }

  $('unmute').addEventListener('click', () => {
    video.muted = !video.muted;
    $('unmute').textContent = video.muted ? 'Unmute' : 'Mute';
    if (!video.muted) play();
  });
  $('play').addEventListener('click', play);
  const canFullscreen = document.fullscreenEnabled || video.webkitEnterFullscreen;
  $('fullscreen').hidden = !canFullscreen;
  $('fullscreen').addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if ($('player').requestFullscreen) $('player').requestFullscreen().catch(() => {});
    else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen();
  });
  // Leave at once rather than when the server notices.
  window.addEventListener('pagehide', () => {
    const s = page.session;
    if (!s) return;
    s.stopped = true;
    fetch(s.location, { method: 'DELETE', keepalive: true }).catch(() => {});
    s.pc.close();
  });

  if (!NAME_RE.test(name)) {
    setState('invalid', 'Not a stream name: stream names are 1-64 characters of A-Z a-z 0-9 _ -');
    return;
  }
  $('stream-name').textContent = name;
  document.title = `${name} · live`;
  setState('waiting', 'Waiting for the stream…');
  run();
})();
