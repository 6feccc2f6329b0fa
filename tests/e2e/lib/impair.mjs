// A user-space UDP relay that impairs one peer's network path (this kernel
// has no netem). It sits between one WebRTC peer (the "client", e.g. a
// Chromium viewer whose answer's candidate was rewritten to the relay) and
// the server's media port:
//
//   client ──up──▶ relay ──▶ server        (up:   client -> server)
//   client ◀─down── relay ◀── server       (down: server -> client)
//
// Every client address gets its own upstream socket, kept for the relay's
// life, so the ICE-lite server (which answers whatever address a request
// came from) always sees one stable address per client candidate, and what
// it sends to that socket goes back to that client address from the relay's
// listening socket (the address the client's ICE was given).
//
// Per direction: random loss (seeded PRNG, optional bursts), a bottleneck
// (token bucket at rateKbps with a drop-tail queue of queueMs / queueBytes),
// then propagation delay with uniform jitter (reordering allowed unless
// keepOrder). Only RTP/RTCP (first byte 128-191) is lost or dropped by the
// queue unless impairControl: STUN, DTLS and anything else are delayed (and
// take their share of the bottleneck) but never dropped.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

const BUCKET_MS = 100;

// mulberry32: small, fast, seedable.
function prng(seed) {
  let a = (seed >>> 0) || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// RFC 7983 demultiplexing on the first byte (and RFC 5761 for RTP vs RTCP).
export function classify(buf) {
  if (buf.length < 1) return 'other';
  const b = buf[0];
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 128 && b <= 191) {
    if (buf.length < 2) return 'other';
    const pt = buf[1] & 0x7f;
    return pt >= 64 && pt <= 95 ? 'rtcp' : 'rtp';
  }
  return 'other';
}

const DEFAULTS = {
  lossPct: 0,       // % of media packets dropped at random
  burstLen: 1,      // mean length of a loss burst (Gilbert-Elliott); 1 = independent losses
  delayMs: 0,       // one-way propagation delay
  jitterMs: 0,      // uniform +- around delayMs
  keepOrder: false, // true: jitter never reorders (a packet leaves no earlier than the one before)
  rateKbps: 0,      // bottleneck rate; 0 = unlimited
  queueMs: 200,     // drop-tail: a packet that would wait longer than this in the bottleneck is dropped
  queueBytes: 0,    // drop-tail in bytes (0 = only queueMs)
  impairControl: false, // true: STUN/DTLS/other also suffer loss and queue drops
};

function newDirStats() {
  return {
    packetsIn: 0, bytesIn: 0,
    forwarded: 0, bytesForwarded: 0,
    droppedLoss: 0, droppedQueue: 0,
    queueDelayMs: 0, maxQueueDelayMs: 0, queuedBytes: 0,
    kinds: { stun: 0, dtls: 0, rtp: 0, rtcp: 0, other: 0 },
    // RTP as it reached the relay (before any loss here): per SSRC the
    // distinct sequence numbers and the copies of already seen ones
    // (retransmissions on the media SSRC); rtx: packets with an RTX payload
    // type (RFC 4588 repairs on their own SSRC; see rtxPayloadTypes);
    // resends = copies + rtx.
    rtp: { packets: 0, distinct: 0, copies: 0, rtx: 0, bySsrc: new Map() },
  };
}

class Direction {
  constructor(name, params, seed, rtxPts) {
    this.name = name;
    this.rtxPts = rtxPts;
    this.params = { ...DEFAULTS };
    this.set(params || {});
    this.rand = prng(seed);
    this.bad = false;          // Gilbert-Elliott state
    this.busyUntil = 0;        // when the bottleneck finishes its backlog
    this.inQueue = [];         // [departure, bytes] still in the bottleneck
    this.lastRelease = 0;
    this.stats = newDirStats();
    this.bucketsIn = [];       // bytes per BUCKET_MS since start
    this.bucketsOut = [];
  }

  set(params) {
    for (const k of Object.keys(params)) {
      if (!(k in DEFAULTS)) throw new Error(`unknown impairment parameter ${k}`);
    }
    Object.assign(this.params, params);
  }

  // Decides one random loss with the Gilbert-Elliott model: the overall loss
  // rate stays lossPct, burstLen is the mean run of consecutive losses.
  lose() {
    const L = Math.min(Math.max(this.params.lossPct / 100, 0), 1);
    if (L <= 0) { this.bad = false; return false; }
    if (L >= 1) return true;
    const burst = Math.max(this.params.burstLen || 1, 1);
    if (burst <= 1) return this.rand() < L;
    const r = 1 / burst;                 // P(bad -> good)
    const p = Math.min(1, (r * L) / (1 - L)); // P(good -> bad)
    this.bad = this.bad ? this.rand() >= r : this.rand() < p;
    return this.bad;
  }

  account(buckets, t0, now, bytes) {
    const i = Math.floor((now - t0) / BUCKET_MS);
    while (buckets.length <= i) buckets.push(0);
    buckets[i] += bytes;
  }

  countRtp(buf) {
    if (buf.length < 12) return;
    const ssrc = buf.readUInt32BE(8);
    const seq = buf.readUInt16BE(2);
    const pt = buf[1] & 0x7f;
    const r = this.stats.rtp;
    let s = r.bySsrc.get(ssrc);
    if (!s) {
      s = { ssrc, pt, packets: 0, bytes: 0, distinct: 0, copies: 0, rtx: 0, highest: -1, seen: new Set() };
      r.bySsrc.set(ssrc, s);
    }
    if (this.rtxPts.has(pt)) {
      s.rtx += 1;
      r.rtx += 1;
    }
    // Extended sequence number: unwrap around the highest seen so far.
    let ext = seq;
    if (s.highest >= 0) {
      const cycles = s.highest - (s.highest & 0xffff);
      ext = cycles + seq;
      if (ext - s.highest > 0x8000) ext -= 0x10000;
      else if (s.highest - ext > 0x8000) ext += 0x10000;
    }
    s.packets += 1;
    s.bytes += buf.length;
    r.packets += 1;
    if (s.seen.has(ext)) {
      s.copies += 1;
      r.copies += 1;
    } else {
      s.seen.add(ext);
      s.distinct += 1;
      r.distinct += 1;
      if (ext > s.highest) s.highest = ext;
    }
  }

  // Returns the release time (performance.now() ms) or null when dropped.
  admit(buf, now) {
    const st = this.stats;
    const p = this.params;
    const kind = classify(buf);
    st.packetsIn += 1;
    st.bytesIn += buf.length;
    st.kinds[kind] += 1;
    if (kind === 'rtp') this.countRtp(buf);
    const impair = kind === 'rtp' || kind === 'rtcp' || p.impairControl;
    if (impair && this.lose()) {
      st.droppedLoss += 1;
      return null;
    }
    let t = now;
    if (p.rateKbps > 0) {
      while (this.inQueue.length && this.inQueue[0][0] <= now) st.queuedBytes -= this.inQueue.shift()[1];
      const backlogMs = Math.max(0, this.busyUntil - now);
      if (impair && ((p.queueMs > 0 && backlogMs > p.queueMs) ||
                     (p.queueBytes > 0 && st.queuedBytes + buf.length > p.queueBytes))) {
        st.droppedQueue += 1;
        return null;
      }
      const txMs = (buf.length * 8) / p.rateKbps;  // bits / (kbit/s) = ms
      const departure = Math.max(now, this.busyUntil) + txMs;
      this.busyUntil = departure;
      this.inQueue.push([departure, buf.length]);
      st.queuedBytes += buf.length;
      st.queueDelayMs = departure - now;
      if (st.queueDelayMs > st.maxQueueDelayMs) st.maxQueueDelayMs = st.queueDelayMs;
      t = departure;
    }
    let d = p.delayMs;
    if (p.jitterMs > 0) d += (this.rand() * 2 - 1) * p.jitterMs;
    t += Math.max(0, d);
    if (p.keepOrder) t = Math.max(t, this.lastRelease);
    this.lastRelease = Math.max(this.lastRelease, t);
    return t;
  }

  currentQueueDelay(now) {
    return Math.max(0, this.busyUntil - now);
  }
}

// A min-heap of scheduled sends, ordered by (time, arrival order).
class Heap {
  constructor() { this.a = []; }
  get size() { return this.a.length; }
  peek() { return this.a[0]; }
  less(x, y) { return x.t < y.t || (x.t === y.t && x.n < y.n); }
  push(e) {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const j = (i - 1) >> 1;
      if (!this.less(a[i], a[j])) break;
      [a[i], a[j]] = [a[j], a[i]];
      i = j;
    }
  }
  pop() {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function bindSocket(host, port) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, host, () => {
      s.removeListener('error', reject);
      s.on('error', () => {});  // ICMP unreachable and the like: keep going
      resolve(s);
    });
  });
}

function publicStats(d, now, t0) {
  const s = d.stats;
  const bySsrc = {};
  for (const [ssrc, v] of s.rtp.bySsrc) {
    bySsrc[ssrc] = { pt: v.pt, packets: v.packets, bytes: v.bytes, distinct: v.distinct, copies: v.copies, rtx: v.rtx };
  }
  return {
    packetsIn: s.packetsIn, bytesIn: s.bytesIn,
    forwarded: s.forwarded, bytesForwarded: s.bytesForwarded,
    droppedLoss: s.droppedLoss, droppedQueue: s.droppedQueue,
    queueDelayMs: d.currentQueueDelay(now), maxQueueDelayMs: s.maxQueueDelayMs,
    kinds: { ...s.kinds },
    rtp: { packets: s.rtp.packets, distinct: s.rtp.distinct, copies: s.rtp.copies, rtx: s.rtp.rtx,
           resends: s.rtp.copies + s.rtp.rtx, bySsrc },
    elapsedMs: now - t0,
  };
}

// Sum of bucketed bytes in [from, to) ms since start, as bit/s.
function windowBps(buckets, fromMs, toMs) {
  const a = Math.max(0, Math.floor(fromMs / BUCKET_MS));
  const b = Math.max(a, Math.floor(toMs / BUCKET_MS));
  let sum = 0;
  for (let i = a; i < b && i < buckets.length; i++) sum += buckets[i];
  const span = (b - a) * BUCKET_MS;
  return span > 0 ? (sum * 8 * 1000) / span : 0;
}

/**
 * Starts the relay.
 * @param {object} o
 * @param {{host: string, port: number}} [o.target] the server's media address (or setTarget later)
 * @param {object} [o.down] server -> client impairments (see DEFAULTS)
 * @param {object} [o.up]   client -> server impairments
 * @param {number} [o.seed] PRNG seed (each direction derives its own)
 * @param {string} [o.host] address to listen on (127.0.0.1)
 * @param {number} [o.port] port to listen on (0: any)
 * @param {number[]} [o.rtxPayloadTypes] RTX payload types, counted as resends
 * @param {function} [o.tap] tap(what, dir, buf, nowMs): every datagram as it
 *   reaches the relay (what = 'in', before any loss or queue) and as it
 *   leaves it (what = 'out'), with performance.now(); for measurements
 * @returns {Promise<{host, port, stats, set, setTarget, target, setRtxPayloadTypes, rateBps, maxRateBps, elapsedMs, clients, close}>}
 */
export async function startImpairedRelay({ target = null, down = {}, up = {}, seed = 1, host = '127.0.0.1', port = 0,
  rtxPayloadTypes = [], tap = null } = {}) {
  // The server's address; may be set later (setTarget), e.g. from the
  // candidate of the answer the relay is spliced into. Until then the
  // client's packets are dropped (counted as noTarget).
  let tgt = target && target.port ? { host: target.host || '127.0.0.1', port: target.port } : null;
  let noTarget = 0;
  const listen = await bindSocket(host, port);
  const rtxPts = new Set(rtxPayloadTypes.map(Number));
  const dirs = { down: new Direction('down', down, seed * 2 + 1, rtxPts), up: new Direction('up', up, seed * 2 + 2, rtxPts) };
  const t0 = performance.now();
  const clients = new Map();  // "addr:port" -> { address, port, upstream socket }
  const heap = new Heap();
  let order = 0;
  let timer = null;
  let timerAt = Infinity;
  let closed = false;

  // One timer for the earliest scheduled send (setImmediate when it is due
  // now), not one per packet.
  function cancelTimer() {
    if (timer) (timer.immediate ? clearImmediate : clearTimeout)(timer.handle);
    timer = null;
    timerAt = Infinity;
  }

  function flush() {
    timer = null;
    timerAt = Infinity;
    if (closed) return;
    // Send everything due, with half a millisecond of slack so a packet is
    // not held back a whole timer tick for a fraction of a millisecond.
    const now = performance.now();
    while (heap.size && heap.peek().t <= now + 0.5) {
      const e = heap.pop();
      const d = dirs[e.dir];
      d.stats.forwarded += 1;
      d.stats.bytesForwarded += e.buf.length;
      d.account(d.bucketsOut, t0, now, e.buf.length);
      if (tap) tap('out', e.dir, e.buf, now);
      e.sock.send(e.buf, e.port, e.address);
    }
    arm();
  }

  function arm() {
    if (closed || !heap.size) return;
    const at = heap.peek().t;
    if (timer && at >= timerAt) return;
    cancelTimer();
    const wait = at - performance.now();
    timerAt = at;
    timer = wait <= 0.5
      ? { immediate: true, handle: setImmediate(flush) }
      : { immediate: false, handle: setTimeout(flush, Math.max(1, Math.floor(wait))) };
  }

  function schedule(dirName, buf, sock, address, prt) {
    const d = dirs[dirName];
    const now = performance.now();
    d.account(d.bucketsIn, t0, now, buf.length);
    if (tap) tap('in', dirName, buf, now);
    const t = d.admit(buf, now);
    if (t === null) return;
    heap.push({ t, n: order++, dir: dirName, buf, sock, address, port: prt });
    arm();
  }

  function clientFor(rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`;
    let c = clients.get(key);
    if (c) return c;
    c = { address: rinfo.address, port: rinfo.port, ready: null, sock: null };
    clients.set(key, c);
    c.ready = bindSocket(host, 0).then((sock) => {
      c.sock = sock;
      if (closed) { sock.close(); return c; }
      sock.on('message', (buf, from) => {
        if (!tgt || from.port !== tgt.port || from.address !== tgt.host) return;  // only the server talks to this socket
        schedule('down', buf, listen, c.address, c.port);
      });
      return c;
    });
    return c;
  }

  const up_ = (c, buf) => {
    if (closed) return;
    if (!tgt) { noTarget += 1; return; }
    schedule('up', buf, c.sock, tgt.host, tgt.port);
  };
  listen.on('message', (buf, rinfo) => {
    const c = clientFor(rinfo);
    if (c.sock) up_(c, buf);
    // The first packets of a new client wait for its upstream socket
    // (promise callbacks run in order, so they stay in order).
    else c.ready.then(() => up_(c, buf));
  });

  const addr = listen.address();
  return {
    host: addr.address,
    port: addr.port,
    // Cumulative counters per direction (see newDirStats).
    stats() {
      const now = performance.now();
      return { down: publicStats(dirs.down, now, t0), up: publicStats(dirs.up, now, t0), clients: clients.size, noTarget };
    },
    target() { return tgt && { ...tgt }; },
    // RTP payload types that are RTX (from the SDP: a=rtpmap:N rtx/90000);
    // their packets count as stats().<dir>.rtp.rtx (and resends).
    setRtxPayloadTypes(pts) { rtxPts.clear(); for (const pt of pts) rtxPts.add(Number(pt)); },
    // Points the relay at the server (before the client's first packet).
    setTarget({ host: h = '127.0.0.1', port: p }) { tgt = { host: h, port: Number(p) }; },
    // Changes a direction's impairments on the fly ('down', 'up' or 'both').
    set(direction, params) {
      for (const name of direction === 'both' ? ['down', 'up'] : [direction]) {
        if (!dirs[name]) throw new Error(`no direction ${name}`);
        dirs[name].set(params);
      }
    },
    // Bit/s over the last `seconds` (whole 100 ms buckets up to now):
    // what = 'in' (what the sender sent into the relay) or 'out' (forwarded).
    rateBps(direction, seconds = 1, what = 'in') {
      const d = dirs[direction];
      const nowMs = performance.now() - t0;
      const end = Math.floor(nowMs / BUCKET_MS) * BUCKET_MS;
      return windowBps(what === 'out' ? d.bucketsOut : d.bucketsIn, end - seconds * 1000, end);
    },
    // The highest bit/s over any `seconds`-long window (sliding by 100 ms)
    // since `sinceMs` after the start (or since the relay started).
    maxRateBps(direction, seconds = 1, what = 'in', sinceMs = 0) {
      const d = dirs[direction];
      const buckets = what === 'out' ? d.bucketsOut : d.bucketsIn;
      const n = Math.round((seconds * 1000) / BUCKET_MS);
      const complete = Math.floor((performance.now() - t0) / BUCKET_MS);  // the current bucket is partial
      let best = 0;
      for (let a = Math.floor(sinceMs / BUCKET_MS); a + n <= complete; a++) {
        best = Math.max(best, windowBps(buckets, a * BUCKET_MS, (a + n) * BUCKET_MS));
      }
      return best;
    },
    // Milliseconds since the relay started (for maxRateBps's sinceMs).
    elapsedMs() { return performance.now() - t0; },
    clients() { return [...clients.values()].map((c) => ({ address: c.address, port: c.port, upstreamPort: c.sock?.address().port })); },
    async close() {
      if (closed) return;
      closed = true;
      cancelTimer();
      await Promise.all([listen, ...[...clients.values()].map((c) => c.sock).filter(Boolean)]
        .map((s) => new Promise((r) => { try { s.close(r); } catch (_) { r(); } })));
    },
  };
}
