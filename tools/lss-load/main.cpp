// lss-load: a WebRTC load generator for live-stream-server (WHIP publishers,
// WHEP viewers), reporting join time, loss, jitter, latency and server cost.
#include <curl/curl.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>

#include "dtls/dtls_certificate.hpp"
#include "load_peer.hpp"
#include "media_source.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"

namespace {

// The codec's clip in tests/data/media of the checkout this binary was
// built in (build/lss-load), or of the working directory.
std::string default_clip(const std::string& rel_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path rel = rel_path;
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      if (fs::exists(dir / rel, ec)) return (dir / rel).string();
    }
  }
  if (fs::exists(rel, ec)) return rel.string();
  return {};
}

// Every peer holds a socket: lift the soft descriptor limit to the hard one.
void raise_fd_limit(int wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur >= rlim_t(wanted)) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rlim_t(wanted))
    spdlog::warn("open file limit {} is below the {} sockets needed", rl.rlim_cur, wanted);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lss::load;
  spdlog::set_default_logger(spdlog::stderr_logger_mt("lss-load"));
  spdlog::set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");

  auto parsed = parse_options(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "lss-load: %s\n\n%s", parsed.error().message.c_str(),
                 usage(argv[0]).c_str());
    return 2;
  }
  Options o = std::move(parsed).value();
  if (o.help) {
    std::fputs(usage(argv[0]).c_str(), stdout);
    return 0;
  }
  if (o.json) spdlog::set_level(spdlog::level::warn);

  // The clip: the committed file of the codec by default; for VP8,
  // synthesized frames when there is none (H264 has no synthesizer).
  const bool h264 = o.codec == lss::codec::VideoCodec::kH264;
  const std::string default_rel =
      h264 ? "tests/data/media/clip-h264.mkv" : "tests/data/media/clip.webm";
  lss::Result<Clip> clip = lss::make_error("no clip");
  if (o.clip != "synthetic") {
    const std::string path = o.clip.empty() ? default_clip(default_rel) : o.clip;
    clip = path.empty() ? lss::make_error(default_rel + " not found") : load_clip(path);
    if (clip.ok() && clip->video_codec != o.codec) {
      clip = lss::make_error(path + " has " + lss::codec::video_codec_name(clip->video_codec) +
                             " video; --codec asks for " + lss::codec::video_codec_name(o.codec));
    }
    if (!clip.ok()) {
      if (!o.clip.empty() || h264) {
        std::fprintf(stderr, "lss-load: %s\n", clip.error().message.c_str());
        return 2;
      }
      spdlog::warn("no clip ({}); sending synthesized VP8/Opus frames", clip.error().message);
    }
  }
  if (!clip.ok()) clip = synthesize_clip();
  const double clip_kbps = clip->video_kbps();
  scale_video_bitrate(*clip, double(o.bitrate_kbps));
  spdlog::info("clip {}: {} {} frames ({:.0f} kbps after scaling), {} audio frames ({:.0f} kbps)",
               clip->source, clip->video.frames.size(),
               lss::codec::video_codec_name(clip->video_codec), clip->video_kbps(),
               clip->audio.frames.size(), clip->audio_kbps());
  if (h264 && o.bitrate_kbps > 0 && o.bitrate_kbps < clip_kbps)
    spdlog::warn("--bitrate {} is below the H264 clip's {:.0f} kbps; H264 frames are not cut",
                 o.bitrate_kbps, clip_kbps);

  auto cert = lss::DtlsCertificate::generate();
  if (!cert.ok()) {
    std::fprintf(stderr, "lss-load: certificate: %s\n", cert.error().message.c_str());
    return 1;
  }
  raise_fd_limit(o.viewers + o.publishers + 64);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  PeerContext ctx;
  ctx.cert = *cert;
  ctx.clip = &*clip;
  ctx.url_host = o.host;
  ctx.media_host = o.media_host;
  ctx.srtp_sample = o.srtp_sample;
  ctx.remb_bps = uint64_t(o.remb_kbps) * 1000;
  ctx.viewers = std::max<size_t>(1, size_t(o.viewers));
  ctx.connect_timeout =
      std::chrono::duration_cast<lss::Duration>(std::chrono::duration<double>(o.join_timeout_s));

  RunData data;
  lss::Status st = run_load(o, ctx, data);
  if (!st.ok()) {
    std::fprintf(stderr, "lss-load: %s\n", st.message().c_str());
    return 1;
  }
  const nlohmann::json report = build_report(data);
  if (o.json) {
    std::puts(report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs(human_summary(report).c_str(), stdout);
  }
  std::fflush(stdout);
  const int code = exit_code(data);
  // Peers (and their sockets) go before libcurl's global state.
  data.publishers.clear();
  data.viewers.clear();
  curl_global_cleanup();
  return code;
}
