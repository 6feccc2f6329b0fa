#include "app/hls_api.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>

#include "common/ascii_case.hpp"
#include "hls/hls_request.hpp"
#include "hls/hls_tap.hpp"
#include "signal/publish_auth.hpp"

namespace lss {
namespace asio = boost::asio;
namespace bhttp = http::bhttp;

namespace {
constexpr std::string_view kPrefix = "/hls/";

}  // namespace

std::string hls_unsupported_reason(const std::string& name,
                                   const std::vector<record::RecordedTrack>& tracks) {
  int videos = 0;
  for (const auto& t : tracks) {
    const std::string codec = to_upper_ascii(t.codec);
    if (t.video) {
      ++videos;
      if (codec != "H264") {
        return "stream '" + name + "' is " + t.codec +
               ": HLS here carries H264 only (publish H264 to watch over HLS)";
      }
    } else if (codec != "OPUS") {
      return "stream '" + name + "' has " + t.codec + " audio: HLS here carries Opus audio only";
    }
  }
  if (videos == 0) {
    return "stream '" + name + "' has no video: HLS here carries H264 video (publish H264 to " +
           "watch over HLS)";
  }
  if (videos > 1) return "stream '" + name + "' has several video tracks: HLS here carries one";
  return {};
}

struct HlsService::State {
  State(asio::io_context& io, HlsSettings s) : io(io), settings(std::move(s)), timer(io) {}

  asio::io_context& io;
  const HlsSettings settings;
  hls::HlsRegistry registry;
  std::mutex mu;  // guards `refused` (media workers, control thread)
  struct Refused {
    std::string reason;
    uint64_t generation = 0;
  };
  std::map<std::string, Refused, std::less<>> refused;  // streams HLS cannot carry
  uint64_t next_generation = 1;
  asio::steady_timer timer;  // control thread
  bool stopped = false;
  signal::StreamClaims* claims = nullptr;  // set before serving

  std::string refused_reason(std::string_view name) {
    std::lock_guard lock(mu);
    auto it = refused.find(name);
    return it == refused.end() ? std::string() : it->second.reason;
  }

  // After `linger`, on the control thread: `forget` runs unless stopped.
  void later(std::function<void()> forget, const std::shared_ptr<State>& self) {
    asio::post(io, [weak = std::weak_ptr<State>(self), forget = std::move(forget)] {
      auto s = weak.lock();
      if (!s) return;
      auto t = std::make_shared<asio::steady_timer>(s->io, s->settings.linger);
      t->async_wait([t, weak, forget](const boost::system::error_code& ec) {
        if (!ec && weak.lock()) forget();
      });
    });
  }

  void sweep(const std::shared_ptr<State>& self) {
    timer.expires_after(settings.sweep_interval);
    timer.async_wait([weak = std::weak_ptr<State>(self)](const boost::system::error_code& ec) {
      auto s = weak.lock();
      if (ec || !s || s->stopped) return;
      s->registry.sweep(Clock::now());
      s->sweep(s);
    });
  }
};

HlsService::HlsService(asio::io_context& control, HlsSettings settings)
    : state_(std::make_shared<State>(control, std::move(settings))) {}

HlsService::~HlsService() {
  stop();
}

hls::HlsRegistry& HlsService::registry() {
  return state_->registry;
}

void HlsService::start() {
  state_->stopped = false;
  state_->sweep(state_);
}

void HlsService::stop() {
  // Control thread (or after it stopped).
  state_->stopped = true;
  state_->timer.cancel();
}

std::shared_ptr<record::FrameTap> HlsService::open(
    const std::string& name, const std::vector<record::RecordedTrack>& tracks) {
  auto state = state_;
  const int64_t keyframe_interval = state->settings.stream.segment_target_ms;
  std::string reason = hls_unsupported_reason(name, tracks);
  if (!reason.empty()) {
    uint64_t generation = 0;
    {
      std::lock_guard lock(state->mu);
      generation = state->next_generation++;
      state->refused[name] = {reason, generation};
    }
    state->registry.remove(name);  // a previous H264 session of the name is over
    spdlog::info("stream '{}': no HLS ({})", name, reason);
    return std::make_shared<hls::HlsTap>(
        nullptr, name, keyframe_interval, [state, name, generation] {
          state->later(
              [state, name, generation] {
                std::lock_guard lock(state->mu);
                auto it = state->refused.find(name);
                if (it != state->refused.end() && it->second.generation == generation)
                  state->refused.erase(it);
              },
              state);
        });
  }
  std::vector<record::TrackSpec> specs;
  size_t video_track = SIZE_MAX;
  for (size_t i = 0; i < tracks.size(); ++i) {
    // H264's SPS and PPS (and the picture size) come with the first keyframe.
    specs.push_back({tracks[i].video, tracks[i].codec, 0, 0, {}});
    if (tracks[i].video) video_track = i;
  }
  auto stream = std::make_shared<hls::HlsStream>(state->settings.stream);
  if (auto st = stream->start(specs); !st) {
    spdlog::warn("stream '{}': no HLS: {}", name, st.message());
    stream.reset();
  } else {
    {
      std::lock_guard lock(state->mu);
      state->refused.erase(name);
    }
    state->registry.add(name, stream);
  }
  const hls::HlsStream* raw = stream.get();
  auto tap = std::make_shared<hls::HlsTap>(stream, name, keyframe_interval, [state, name, raw] {
    // The registry holds the stream until then; a newer session of the
    // name has replaced it already, and stays.
    state->later([state, name, raw] { state->registry.remove(name, raw); }, state);
  });
  tap->set_video_track(video_track);
  return tap;
}

namespace {

// HEAD: the headers GET would have, Content-Length included, no body.
void without_body(http::Response& res) {
  const auto size = res.body().size();
  res.body().clear();
  res.content_length(size);
}

http::Response hls_response(unsigned version, bool keep_alive, bool head,
                            const hls::HlsResponse& r) {
  http::Response res{bhttp::int_to_status(unsigned(r.status)), version};
  res.keep_alive(keep_alive);
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::cache_control, r.cache_control);
  const ByteSpan body = r.body();
  if (!r.content_type.empty()) {
    res.set(bhttp::field::content_type, r.content_type);
    res.body().assign(reinterpret_cast<const char*>(body.data()), body.size());
  } else {
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::string(bhttp::obsolete_reason(res.result())) + "\n";
  }
  res.prepare_payload();
  if (head) without_body(res);
  return res;
}

http::Response text_response(const http::Request& req, http::Status status, std::string body) {
  auto res = http::make_response(req, status, std::move(body));
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::cache_control, hls::kNoStore);
  if (req.method() == http::Verb::head) without_body(res);
  return res;
}

}  // namespace

http::Handler HlsService::handler() const {
  return [state = state_](const http::Request& req, const http::RequestContext&,
                          http::Responder respond) {
    const bool head = req.method() == http::Verb::head;
    if (req.method() == http::Verb::options) {
      auto res = text_response(req, http::Status::no_content, {});
      res.set(bhttp::field::access_control_allow_methods, "GET, HEAD, OPTIONS");
      return respond(std::move(res));
    }
    if (req.method() != http::Verb::get && !head) {
      auto res = text_response(req, http::Status::method_not_allowed, "use GET or HEAD\n");
      res.set(bhttp::field::allow, "GET, HEAD, OPTIONS");
      return respond(std::move(res));
    }
    // /hls/{stream}/{object}[?query]
    std::string_view target = req.target();
    if (target.substr(0, kPrefix.size()) != kPrefix) {
      return respond(text_response(req, http::Status::not_found, "not found\n"));
    }
    target.remove_prefix(kPrefix.size());
    const size_t slash = target.find('/');
    const std::string_view name = target.substr(0, slash);
    if (slash == std::string_view::npos || !signal::valid_stream_name(name)) {
      return respond(
          text_response(req, http::Status::not_found, "not found: use /hls/{stream}/index.m3u8\n"));
    }
    auto parsed = hls::parse_hls_request(target.substr(slash + 1));
    if (!parsed.ok()) {
      return respond(text_response(req, bhttp::int_to_status(unsigned(parsed.error().status)),
                                   parsed.error().message + "\n"));
    }
    auto stream = state->registry.find(name);
    if (!stream) {
      std::string reason = state->refused_reason(name);
      if (!reason.empty() || !state->claims) {
        if (reason.empty()) reason = "stream '" + std::string(name) + "' is not live";
        return respond(text_response(req, http::Status::not_found, reason + "\n"));
      }
      // Perhaps on another node: its own HLS is there (a pulled stream has none here).
      return state->claims->locate(std::string(name), [req, respond, name = std::string(name)](
                                                          const signal::StreamClaim& c) {
        if (c.outcome != signal::StreamClaim::Outcome::kElsewhere || c.owner_url.empty()) {
          return respond(
              text_response(req, http::Status::not_found, "stream '" + name + "' is not live\n"));
        }
        auto res = text_response(req, http::Status::temporary_redirect,
                                 "stream '" + name + "' is on node '" + c.owner + "'\n");
        res.set(bhttp::field::location, c.owner_url + std::string(req.target()));
        respond(std::move(res));
      });
    }
    auto reply = [version = req.version(), keep_alive = req.keep_alive(), head,
                  respond](hls::HlsResponse r) {
      // Any thread (the recorder's, as the part is published): the responder posts.
      respond(hls_response(version, keep_alive, head, r));
    };
    if (auto r = stream->serve(*parsed, Clock::now(), reply)) reply(std::move(*r));
  };
}

void HlsService::set_claims(signal::StreamClaims* claims) {
  state_->claims = claims;
}

void HlsService::register_routes(http::Router& router) const {
  router.add(std::string(kPrefix), handler());
}

}  // namespace lss
