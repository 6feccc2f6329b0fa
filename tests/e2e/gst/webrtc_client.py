#!/usr/bin/python3
"""A WHIP publisher and WHEP viewer on GStreamer's webrtcbin (libnice ICE).

A second WebRTC stack, independent of Chromium, for the end-to-end tests:

  webrtc_client.py publish URL --codec vp8|h264 [--token KEY] [--seconds N]
                   [--width W --height H]
  webrtc_client.py view URL [--seconds N]

publish sends videotestsrc (W x H, default 320x240, 30 fps) as VP8 or H264
(constrained baseline) and audiotestsrc as Opus; view offers to receive VP8
or H264 and Opus, decodes them (decodebin) into fakesinks and counts.

Common options: --bundle-policy (default max-bundle), --verbose (offer,
answer and state changes on stderr), --save-offer FILE (the offer exactly
as POSTed, CRLF line endings).

Non-trickle WHIP/WHEP: the offer is set locally, ICE gathering is waited
for, then the local description is POSTed (application/sdp), a 201 is
required and the answer is set. The session's Location (resolved against
URL) is DELETEd on exit: after --seconds, or on SIGINT/SIGTERM. At the end
one JSON line goes to stdout: for `view` the decoded video frames, their
last size (and every size seen), the audio buffers and the video codec; for
`publish` the RTP packets handed to webrtcbin; for both the ICE and
connection states.

Exit status: 0 on success; 1 on an HTTP error, a refused answer
(set-remote-description's promise carries an error: the offer and the
answer are printed on stderr), a failed connection, a pipeline error or a
timeout.

Use Debian's /usr/bin/python3 (python3-gst-1.0, gir1.2-gst-plugins-bad-1.0).
"""

import argparse
import ctypes
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO_FPS = 30
VIDEO_PT, H264_PT, OPUS_PT = 96, 102, 111

BUNDLE_POLICIES = {
    'none': GstWebRTC.WebRTCBundlePolicy.NONE,
    'balanced': GstWebRTC.WebRTCBundlePolicy.BALANCED,
    'max-compat': GstWebRTC.WebRTCBundlePolicy.MAX_COMPAT,
    'max-bundle': GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE,
}

# What a viewer can receive: VP8, H264 (constrained baseline, mode 1), Opus.
VIEW_VIDEO_CAPS = (
    f'application/x-rtp,media=video,encoding-name=VP8,payload={VIDEO_PT},clock-rate=90000;'
    f'application/x-rtp,media=video,encoding-name=H264,payload={H264_PT},clock-rate=90000,'
    'packetization-mode=(string)1,profile-level-id=(string)42e01f,level-asymmetry-allowed=(string)1')
VIEW_AUDIO_CAPS = (
    f'application/x-rtp,media=audio,encoding-name=OPUS,payload={OPUS_PT},clock-rate=48000,'
    'encoding-params=(string)2')


class Failure(Exception):
    """A reason to stop with exit status 1; the message says why."""


def log(*args):
    print('webrtc_client:', *args, file=sys.stderr, flush=True)


def wait_promise(promise, what, timeout=10.0):
    """Waits for a Gst.Promise; returns its reply structure (may be None)."""
    # Gst.Promise.wait() has no timeout: wait in a helper thread.
    done = threading.Event()
    holder = {}

    def waiter():
        holder['result'] = promise.wait()
        done.set()

    threading.Thread(target=waiter, daemon=True).start()
    if not done.wait(timeout):
        promise.interrupt()
        raise Failure(f'{what}: no reply in {timeout:g} s')
    result = holder['result']
    if result != Gst.PromiseResult.REPLIED:
        raise Failure(f'{what}: promise {result.value_nick}')
    return promise.get_reply()


def reply_error(reply):
    """The GError a webrtcbin promise reply carries, as text, or None."""
    if reply is None or not reply.has_field('error'):
        return None
    try:
        err = reply.get_value('error')
        return getattr(err, 'message', None) or str(err)
    except (TypeError, ValueError):
        return reply.to_string()


def disable_upnp(webrtc):
    """Turns off libnice's UPnP-IGD port mapping (SSDP multicast at start).

    webrtcbin 1.22's "ice-agent" getter hands out its own reference
    (g_value_take_object), so the Python wrapper would free the ICE object
    webrtcbin still uses: take one more reference first. Best effort.
    """
    try:
        ice = webrtc.get_property('ice-agent')
        capsule_ptr = ctypes.pythonapi.PyCapsule_GetPointer
        capsule_ptr.restype = ctypes.c_void_p
        capsule_ptr.argtypes = [ctypes.py_object, ctypes.c_char_p]
        gobject = ctypes.CDLL('libgobject-2.0.so.0')
        gobject.g_object_ref.restype = ctypes.c_void_p
        gobject.g_object_ref.argtypes = [ctypes.c_void_p]
        gobject.g_object_ref(capsule_ptr(ice.__gpointer__, None))
        ice.get_property('agent').set_property('upnp', False)
    except (AttributeError, OSError, TypeError, ValueError) as e:
        log(f'cannot turn off UPnP in libnice: {e}')


class Client:
    def __init__(self, args):
        self.args = args
        self.verbose = args.verbose
        self.location = None
        self.deleted = None
        self.offer_sdp = None
        self.answer_sdp = None
        self.failure = None
        self.exit_code = 0
        self.loop = GLib.MainLoop()
        self.counts = {}
        self.lock = threading.Lock()
        self.sizes = []
        self.codec = None
        self.pipeline = None
        self.webrtc = None

    # ---- pipeline -------------------------------------------------------

    def build(self):
        raise NotImplementedError

    def _make_webrtcbin(self):
        webrtc = Gst.ElementFactory.make('webrtcbin', 'webrtc')
        webrtc.set_property('bundle-policy', BUNDLE_POLICIES[self.args.bundle_policy])
        # No STUN/TURN: host candidates only, and no UPnP port mapping
        # requests (SSDP multicast) from libnice.
        disable_upnp(webrtc)
        for prop in ('ice-gathering-state', 'ice-connection-state', 'connection-state',
                     'signaling-state'):
            webrtc.connect(f'notify::{prop}', self._on_state)
        return webrtc

    def _on_state(self, webrtc, pspec):
        value = webrtc.get_property(pspec.name)
        if self.verbose:
            log(f'{pspec.name}: {value.value_nick}')
        if pspec.name == 'connection-state' and value == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            self.fail('the connection failed (ICE or DTLS)')

    def _count(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def _on_bus(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.fail(f'pipeline error from {msg.src.get_name()}: {err.message} ({dbg})')
        elif t == Gst.MessageType.WARNING and self.verbose:
            err, dbg = msg.parse_warning()
            log(f'warning from {msg.src.get_name()}: {err.message} ({dbg})')
        return True

    # ---- signalling -----------------------------------------------------

    def negotiate(self):
        webrtc = self.webrtc
        self.before_offer()
        reply = wait_promise(self._emit_promise('create-offer', None), 'create-offer')
        err = reply_error(reply)
        if err or reply is None or not reply.has_field('offer'):
            raise Failure(f'create-offer failed: {err or reply}')
        offer = reply.get_value('offer')
        reply = wait_promise(self._emit_promise('set-local-description', offer),
                             'set-local-description')
        err = reply_error(reply)
        if err:
            raise Failure(f'set-local-description failed: {err}')

        # Non-trickle: the offer carries every candidate.
        deadline = time.monotonic() + 10
        while webrtc.get_property('ice-gathering-state') != GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            if time.monotonic() > deadline:
                raise Failure('ICE gathering did not complete in 10 s')
            time.sleep(0.02)
        self.offer_sdp = webrtc.get_property('local-description').sdp.as_text()
        if self.args.save_offer:
            with open(self.args.save_offer, 'w', newline='') as f:
                f.write(self.offer_sdp)
        if self.verbose:
            log('offer:\n' + self.offer_sdp)

        self.answer_sdp = self.post(self.offer_sdp)
        if self.verbose:
            log('answer:\n' + self.answer_sdp)
        res, msg = GstSdp.SDPMessage.new_from_text(self.answer_sdp)
        if res != GstSdp.SDPResult.OK:
            self.dump_sdp()
            raise Failure(f'the answer does not parse as SDP ({res.value_nick})')
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        reply = wait_promise(self._emit_promise('set-remote-description', answer),
                             'set-remote-description')
        err = reply_error(reply)
        if err:
            self.dump_sdp()
            raise Failure(f'set-remote-description refused the answer: {err}')

    def _emit_promise(self, signal_name, arg):
        promise = Gst.Promise.new()
        self.webrtc.emit(signal_name, arg, promise)
        return promise

    def before_offer(self):
        pass

    def dump_sdp(self):
        print('--- offer ---\n' + (self.offer_sdp or '(none)'), file=sys.stderr)
        print('--- answer ---\n' + (self.answer_sdp or '(none)'), file=sys.stderr, flush=True)

    def _headers(self):
        headers = {}
        if getattr(self.args, 'token', None):
            headers['Authorization'] = f'Bearer {self.args.token}'
        return headers

    def post(self, sdp):
        headers = {'Content-Type': 'application/sdp', 'Accept': 'application/sdp', **self._headers()}
        req = urllib.request.Request(self.args.url, data=sdp.encode(), headers=headers, method='POST')
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                status, body, location = res.status, res.read().decode(), res.headers.get('Location')
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors='replace').strip()
            raise Failure(f'POST {self.args.url}: HTTP {e.code} {e.reason}: {body}') from None
        except (urllib.error.URLError, OSError) as e:
            raise Failure(f'POST {self.args.url}: {getattr(e, "reason", e)}') from None
        if location:
            self.location = urllib.parse.urljoin(self.args.url, location)
        if status != 201:
            raise Failure(f'POST {self.args.url}: HTTP {status}, expected 201: {body.strip()}')
        if not location:
            raise Failure(f'POST {self.args.url}: 201 without a Location header')
        return body

    def delete(self):
        if not self.location:
            return
        req = urllib.request.Request(self.location, headers=self._headers(), method='DELETE')
        location, self.location = self.location, None
        self.deleted = location
        try:
            with urllib.request.urlopen(req, timeout=5) as res:
                if self.verbose:
                    log(f'DELETE {location}: {res.status}')
        except urllib.error.HTTPError as e:
            log(f'DELETE {location}: HTTP {e.code} {e.reason}')
        except (urllib.error.URLError, OSError) as e:
            log(f'DELETE {location}: {getattr(e, "reason", e)}')

    # ---- run ------------------------------------------------------------

    def fail(self, message):
        if self.failure is None:
            self.failure = message
            self.exit_code = 1
        GLib.idle_add(self.loop.quit)

    def _negotiate_thread(self):
        try:
            self.negotiate()
        except Failure as e:
            self.fail(str(e))
            return
        except Exception as e:  # noqa: BLE001 (report anything as a failure)
            self.fail(f'{type(e).__name__}: {e}')
            return
        GLib.idle_add(self._negotiated)

    def _negotiated(self):
        if self.verbose:
            log(f'negotiated; running for {self.args.seconds:g} s')
        GLib.timeout_add(int(self.args.seconds * 1000), self.loop.quit)
        return False

    def run(self):
        self.build()
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect('message', self._on_bus)
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, self._on_signal)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise Failure('the pipeline does not start')
        threading.Thread(target=self._negotiate_thread, daemon=True).start()
        self.loop.run()
        self.delete()
        report = self.report()
        self.pipeline.set_state(Gst.State.NULL)
        if self.failure:
            log(self.failure)
        print(json.dumps(report), flush=True)
        return self.exit_code

    def _on_signal(self):
        if self.verbose:
            log('signal: stopping')
        self.loop.quit()
        return True

    def report(self):
        w = self.webrtc
        return {
            'ice_connection_state': w.get_property('ice-connection-state').value_nick,
            'connection_state': w.get_property('connection-state').value_nick,
            'location': self.location or self.deleted,
            'error': self.failure,
        }


class Publisher(Client):
    def build(self):
        a = self.args
        if a.codec == 'vp8':
            enc = ('vp8enc deadline=1 target-bitrate=600000 keyframe-max-dist=30 ! '
                   f'rtpvp8pay pt={VIDEO_PT} picture-id-mode=15-bit ! '
                   'capsfilter caps="application/x-rtp,media=video,encoding-name=VP8,'
                   f'payload={VIDEO_PT},clock-rate=90000"')
        else:
            enc = ('x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600 ! '
                   'video/x-h264,profile=constrained-baseline ! '
                   f'rtph264pay pt={VIDEO_PT} config-interval=-1 aggregate-mode=zero-latency ! '
                   'capsfilter caps="application/x-rtp,media=video,encoding-name=H264,'
                   f'payload={VIDEO_PT},clock-rate=90000"')
        branches = {
            'video': ('videotestsrc is-live=true pattern=ball ! '
                      f'video/x-raw,width={a.width},height={a.height},'
                      f'framerate={VIDEO_FPS}/1 ! videoconvert ! queue ! {enc}'),
            'audio': ('audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! '
                      'audioresample ! queue ! opusenc ! '
                      f'rtpopuspay pt={OPUS_PT} ! '
                      'capsfilter caps="application/x-rtp,media=audio,encoding-name=OPUS,'
                      f'payload={OPUS_PT},clock-rate=48000"'),
        }
        self.pipeline = Gst.Pipeline.new('publish')
        self.webrtc = self._make_webrtcbin()
        self.pipeline.add(self.webrtc)
        self.sink_pads = []
        # Video first (sink_0, first m-section), then audio.
        for kind, desc in branches.items():
            branch = Gst.parse_bin_from_description(desc, True)
            self.pipeline.add(branch)
            sink = self.webrtc.request_pad_simple('sink_%u')
            src = branch.get_static_pad('src')
            if src.link(sink) != Gst.PadLinkReturn.OK:
                raise Failure(f'cannot link the {kind} branch to webrtcbin')
            src.add_probe(Gst.PadProbeType.BUFFER, self._probe_sent, kind)
            self.sink_pads.append(sink)
        # Send only: WHIP carries media one way.
        for i in range(len(self.sink_pads)):
            t = self.webrtc.emit('get-transceiver', i)
            t.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)

    def _probe_sent(self, pad, info, kind):
        self._count(f'{kind}_packets_sent')
        return Gst.PadProbeReturn.OK

    def before_offer(self):
        # The offer's fmtp (H264 profile-level-id, packetization-mode) comes
        # from the caps webrtcbin has received: wait for them.
        deadline = time.monotonic() + 10
        while not all(p.get_current_caps() for p in self.sink_pads):
            if time.monotonic() > deadline:
                raise Failure('the encoders produced no caps in 10 s')
            time.sleep(0.02)

    def report(self):
        r = super().report()
        with self.lock:
            r.update({
                'codec': self.args.codec.upper(),
                'width': self.args.width,
                'height': self.args.height,
                'video_packets_sent': self.counts.get('video_packets_sent', 0),
                'audio_packets_sent': self.counts.get('audio_packets_sent', 0),
            })
        return r


class Viewer(Client):
    def build(self):
        self.pipeline = Gst.Pipeline.new('view')
        self.webrtc = self._make_webrtcbin()
        self.pipeline.add(self.webrtc)
        recv = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        self.webrtc.emit('add-transceiver', recv, Gst.Caps.from_string(VIEW_VIDEO_CAPS))
        self.webrtc.emit('add-transceiver', recv, Gst.Caps.from_string(VIEW_AUDIO_CAPS))
        self.webrtc.connect('pad-added', self._on_webrtc_pad)

    def _on_webrtc_pad(self, webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        media = s.get_string('media')
        if self.verbose:
            log(f'incoming {media} stream: {caps.to_string()}')
        if media == 'video':
            self.codec = s.get_string('encoding-name')
        dec = Gst.ElementFactory.make('decodebin')
        dec.connect('pad-added', self._on_decoded_pad)
        self.pipeline.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad('sink'))

    def _on_decoded_pad(self, dec, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        kind = 'video' if name.startswith('video/') else 'audio' if name.startswith('audio/') else None
        if kind is None:
            return
        sink = Gst.ElementFactory.make('fakesink')
        sink.set_property('sync', False)
        sink.set_property('async', False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad('sink'))
        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM,
                      self._probe_decoded, kind)

    def _probe_decoded(self, pad, info, kind):
        if info.type & Gst.PadProbeType.BUFFER:
            self._count('video_frames' if kind == 'video' else 'audio_buffers')
        elif kind == 'video' and info.get_event().type == Gst.EventType.CAPS:
            s = info.get_event().parse_caps().get_structure(0)
            size = (s.get_int('width')[1], s.get_int('height')[1])
            with self.lock:
                if not self.sizes or self.sizes[-1] != size:
                    self.sizes.append(size)
            if self.verbose:
                log(f'decoded video: {size[0]}x{size[1]}')
        return Gst.PadProbeReturn.OK

    def report(self):
        r = super().report()
        with self.lock:
            width, height = self.sizes[-1] if self.sizes else (0, 0)
            r.update({
                'video_frames': self.counts.get('video_frames', 0),
                'audio_buffers': self.counts.get('audio_buffers', 0),
                'width': width,  # the last decoded size
                'height': height,
                'sizes': [f'{w}x{h}' for w, h in self.sizes],  # every size, in order
                'codec': self.codec,
            })
        return r


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='mode', required=True)

    def common(p):
        p.add_argument('url', help='WHIP or WHEP endpoint, e.g. http://127.0.0.1:8080/whip/cam1')
        p.add_argument('--seconds', type=float, default=10,
                       help='how long to stay connected after the answer (default 10)')
        p.add_argument('--bundle-policy', choices=sorted(BUNDLE_POLICIES), default='max-bundle')
        p.add_argument('--save-offer', metavar='FILE', help='write the offer as POSTed to FILE')
        p.add_argument('--verbose', '-v', action='store_true',
                       help='log the offer, the answer and the state changes to stderr')

    pub = sub.add_parser('publish', help='send a test pattern and a tone (WHIP)')
    common(pub)
    pub.add_argument('--codec', choices=('vp8', 'h264'), default='vp8')
    pub.add_argument('--token', help='Bearer token (the stream key)')
    pub.add_argument('--width', type=int, default=320, help='video width (default 320)')
    pub.add_argument('--height', type=int, default=240, help='video height (default 240)')
    view = sub.add_parser('view', help='receive and decode a stream (WHEP)')
    common(view)
    args = parser.parse_args(argv)

    Gst.init(None)
    missing = [e for e in ('webrtcbin', 'nicesrc', 'decodebin', 'vp8enc', 'x264enc', 'opusenc')
               if Gst.ElementFactory.find(e) is None]
    if missing:
        log('missing GStreamer elements: ' + ', '.join(missing))
        return 1
    client = (Publisher if args.mode == 'publish' else Viewer)(args)
    try:
        return client.run()
    except Failure as e:
        log(str(e))
        return 1


if __name__ == '__main__':
    sys.exit(main())
