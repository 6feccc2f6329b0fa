#include "options.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <type_traits>

namespace lss::load {

namespace {

template <typename T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  if constexpr (std::is_floating_point_v<T>) {
    // std::from_chars for double is in libstdc++ 12, but strtod keeps this
    // portable; the whole string must be consumed.
    std::string copy(s);
    char* end = nullptr;
    out = T(std::strtod(copy.c_str(), &end));
    return end && *end == '\0';
  } else {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  }
}

bool valid_stream_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string usage(const char* argv0) {
  return std::string("Usage: ") + argv0 +
         " --url http://HOST:PORT --stream NAME [options]\n"
         "\n"
         "A WebRTC load generator for live-stream-server: M WHIP publishers send a looped\n"
         "VP8+Opus (or, with --codec h264, H264+Opus) clip, N WHEP viewers receive it;\n"
         "every one is a full WebRTC peer (ICE, DTLS client, SRTP) on its own UDP\n"
         "socket, all driven by one thread.\n"
         "\n"
         "Options:\n"
         "  --url URL            server base URL, http only, e.g. http://127.0.0.1:8080 "
         "(required)\n"
         "  --stream NAME        stream to watch (and publish); with --publishers M > 1 the\n"
         "                       publishers use NAME-0 .. NAME-(M-1) and viewers are spread\n"
         "                       over them round-robin (required)\n"
         "  --publish            start one WHIP publisher (same as --publishers 1)\n"
         "  --publishers M       start M WHIP publishers (default 0: watch an existing stream)\n"
         "  --viewers N          WHEP viewers to open (default 0)\n"
         "  --duration SECONDS   hold time after the last viewer was started (default 10)\n"
         "  --bitrate KBPS       publisher video bitrate; clip frames are padded or cut to\n"
         "                       reach it (default 2500; audio is the clip's Opus as encoded;\n"
         "                       H264 is padded with filler NAL units, never cut)\n"
         "  --ramp N             viewers started per second (default 50)\n"
         "  --key KEY            stream key, sent as 'Authorization: Bearer KEY' on WHIP\n"
         "  --server-pid PID     report the server's CPU time and RSS from /proc/PID\n"
         "  --json               print only the JSON report on stdout (progress on stderr\n"
         "                       is reduced to warnings)\n"
         "  --codec vp8|h264     publishers' video codec: their WHIP offer has a VP8 or an\n"
         "                       H264 (packetization-mode=1, profile-level-id=42e01f) video\n"
         "                       section and they loop a clip of that codec (default vp8)\n"
         "  --clip PATH          WebM/Matroska (VP8 or H264, as --codec says, + Opus) to\n"
         "                       loop; 'synthetic' generates VP8/Opus frames instead (VP8\n"
         "                       only) (default: tests/data/media/clip.webm, with --codec\n"
         "                       h264 clip-h264.mkv, next to the build directory; VP8 falls\n"
         "                       back to synthetic when it is missing)\n"
         "  --media-host IP      send media to IP instead of the answer's candidate address\n"
         "  --srtp-sample N      viewers authenticate and decrypt every Nth RTP packet and\n"
         "                       all RTCP; the rest are only counted (default 16, 1 = all)\n"
         "  --remb KBPS          viewers announce KBPS as their bandwidth estimate with a\n"
         "                       REMB every second, as a receiver without transport-cc\n"
         "                       does, so the server has an estimate for each (default:\n"
         "                       none)\n"
         "  --join-timeout S     a peer not connected (ICE + DTLS) S seconds after its\n"
         "                       POST fails (default 10)\n"
         "  --http-threads N     concurrent WHIP/WHEP requests (default 4)\n"
         "  --cycles N           join/leave churn: each of the --viewers (or --publishers)\n"
         "                       places is taken by N sessions in turn; a session stays\n"
         "                       --hold-ms after its media started (a viewer's first RTP\n"
         "                       packet, a publisher's connection), leaves with a DELETE,\n"
         "                       and the next joins once that is answered. The run ends\n"
         "                       after the last turn (--duration is not used). Viewers or\n"
         "                       publishers, not both: run two lss-load for that\n"
         "  --hold-ms M          time in the stream of each --cycles session (default 1000)\n"
         "  --janus ID           viewers watch Janus streaming mountpoint ID through the Janus\n"
         "                       HTTP API at --url (e.g. http://127.0.0.1:8088/janus): one\n"
         "                       session, one streaming handle per viewer; Janus offers, the\n"
         "                       viewer answers (ICE controlled unless Janus is ICE-lite, DTLS\n"
         "                       client); --stream is then optional\n"
         "  --rtp-out H:VP:AP    the publisher sends its RTP unencrypted to UDP H:VP (VP8\n"
         "                       pt 96, H264 pt 102) and H:AP (Opus, pt 111) instead of\n"
         "                       publishing over WHIP (e.g. to a Janus RTP mountpoint);\n"
         "                       implies --publish\n"
         "  -h, --help           show this help\n"
         "\n"
         "Exit status: 0 when at least one viewer received media (or no viewers were\n"
         "requested, when a publisher connected), 1 otherwise, 2 on bad usage.\n";
}

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (arg.starts_with("--")) {
      const size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    auto need = [&](std::string_view& out) -> bool {
      if (has_inline) {
        out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    auto bad = [&](std::string_view why) {
      return make_error(std::string(arg) + ": " + std::string(why));
    };
    std::string_view v;
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    } else if (arg == "--publish") {
      if (o.publishers == 0) o.publishers = 1;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--url" || arg == "--stream" || arg == "--key" || arg == "--clip" ||
               arg == "--media-host") {
      if (!need(v)) return bad("needs a value");
      std::string& dst = arg == "--url"      ? o.url
                         : arg == "--stream" ? o.stream
                         : arg == "--key"    ? o.key
                         : arg == "--clip"   ? o.clip
                                             : o.media_host;
      dst = std::string(v);
    } else if (arg == "--publishers" || arg == "--viewers" || arg == "--bitrate" ||
               arg == "--server-pid" || arg == "--srtp-sample" || arg == "--http-threads" ||
               arg == "--cycles" || arg == "--hold-ms" || arg == "--remb") {
      int n = 0;
      if (!need(v) || !parse_number(v, n) || n < 0) return bad("needs a non-negative integer");
      if (arg == "--publishers") o.publishers = n;
      if (arg == "--viewers") o.viewers = n;
      if (arg == "--bitrate") o.bitrate_kbps = n;
      if (arg == "--server-pid") o.server_pid = n;
      if (arg == "--srtp-sample") o.srtp_sample = n;
      if (arg == "--http-threads") o.http_threads = n;
      if (arg == "--cycles") o.cycles = n;
      if (arg == "--hold-ms") o.hold_ms = n;
      if (arg == "--remb") o.remb_kbps = n;
    } else if (arg == "--codec") {
      if (!need(v)) return bad("needs vp8 or h264");
      o.codec = codec::video_codec_from_name(v);
      if (o.codec != codec::VideoCodec::kVP8 && o.codec != codec::VideoCodec::kH264)
        return bad("needs vp8 or h264, not '" + std::string(v) + "'");
    } else if (arg == "--janus") {
      int64_t id = 0;
      if (!need(v) || !parse_number(v, id) || id < 0) return bad("needs a mountpoint id");
      o.janus_mountpoint = id;
    } else if (arg == "--rtp-out") {
      // HOST:VIDEOPORT:AUDIOPORT; HOST may be a bracketed IPv6 address.
      if (!need(v)) return bad("needs HOST:VIDEOPORT:AUDIOPORT");
      const size_t last = v.rfind(':');
      const size_t mid = last == std::string_view::npos ? last : v.rfind(':', last - 1);
      if (mid == std::string_view::npos || mid == 0) return bad("needs HOST:VIDEOPORT:AUDIOPORT");
      std::string_view host = v.substr(0, mid);
      if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
      uint16_t vp = 0, ap = 0;
      if (!parse_number(v.substr(mid + 1, last - mid - 1), vp) ||
          !parse_number(v.substr(last + 1), ap) || vp == 0 || ap == 0)
        return bad("needs HOST:VIDEOPORT:AUDIOPORT with ports 1..65535");
      o.rtp_out_host = std::string(host);
      o.rtp_out_video_port = vp;
      o.rtp_out_audio_port = ap;
    } else if (arg == "--duration" || arg == "--ramp" || arg == "--join-timeout") {
      double d = 0;
      if (!need(v) || !parse_number(v, d) || !(d >= 0)) return bad("needs a non-negative number");
      if (arg == "--duration") o.duration_s = d;
      if (arg == "--ramp") o.ramp_per_s = d;
      if (arg == "--join-timeout") o.join_timeout_s = d;
    } else {
      return make_error("unknown option " + std::string(argv[i]) + " (see --help)");
    }
  }
  if (o.codec == codec::VideoCodec::kH264 && o.clip == "synthetic")
    return make_error("--clip synthetic makes VP8 frames only; --codec h264 needs an H264 clip");
  if (o.rtp_out()) {
    if (o.publishers > 1) return make_error("--rtp-out sends one publisher's RTP");
    o.publishers = 1;
  }
  if (o.cycles > 0) {
    // Viewers of a publisher that leaves are closed with it.
    if (o.publishers > 0 && o.viewers > 0)
      return make_error("--cycles churns viewers or publishers, not both");
    if (o.janus() || o.rtp_out()) return make_error("--cycles works over WHIP/WHEP only");
  }
  if (o.janus() && o.stream.empty()) o.stream = "janus";
  if (o.rtp_out() && o.stream.empty()) o.stream = "rtp-out";
  if (o.rtp_out() && o.viewers == 0 && o.url.empty()) o.url = "http://127.0.0.1";
  if (o.url.empty()) return make_error("--url is required");
  if (o.stream.empty()) return make_error("--stream is required");
  if (!valid_stream_name(o.stream))
    return make_error("--stream: 1 to 64 characters of A-Z a-z 0-9 _ -");
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  std::string_view rest = o.url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return make_error("--url must start with http://");
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.starts_with("[")) {
    o.host = std::string(rest.substr(1, rest.find(']') - 1));
  } else {
    o.host = std::string(rest.substr(0, rest.find(':')));
  }
  if (o.ramp_per_s <= 0) return make_error("--ramp must be positive");
  if (o.srtp_sample == 0) o.srtp_sample = 1;
  if (o.http_threads == 0) o.http_threads = 1;
  // Janus: one thread stays in the session's long poll.
  if (o.janus() && o.http_threads < 2) o.http_threads = 2;
  if (o.viewers == 0 && o.publishers == 0)
    return make_error("nothing to do: give --viewers N and/or --publish");
  return o;
}

}  // namespace lss::load
