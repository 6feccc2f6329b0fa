// A PeerJS streamer the server calls answers the server's offer with any text
// it likes: negotiate it as sdp::accept_pull_answer does, then hand it to an
// engine that made that offer, first as a new stream, then as the new source
// of that live stream (the clip dance), as PeerJS calls do; and as another
// node's WHEP answer to a cluster pull (its candidates read, the link's ICE
// checks started).
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <variant>

#include "dtls/dtls_certificate.hpp"
#include "sdp/pull_offer.hpp"
#include "sfu/engine.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

const lss::sdp::LocalTransport kLocal{
    "srvufrag", "serverpassword0123456789", "AB:CD", {{"127.0.0.1", 40000}}, {}};

// Calls stream "cam" on `engine` and answers with `answer`; true when taken.
bool pull(lss::sfu::Engine& engine, const lss::sdp::SessionDescription& answer, bool switch_source,
          lss::Timestamp now) {
  auto offered = engine.prepare_pull("cam", now, switch_source);
  if (!std::holds_alternative<lss::sfu::PullOffered>(offered)) return false;
  const auto& offer = std::get<lss::sfu::PullOffered>(offered);
  check(lss::sdp::parse_sdp(offer.offer_sdp).ok());
  return std::holds_alternative<lss::sfu::SessionCreated>(
      engine.complete_pull(offer.session_id, answer, now));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // a log line per stream would dominate each run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One certificate for every input: generating one per input is slow and
  // nothing here depends on its value.
  static const auto cert = lss::DtlsCertificate::generate().value();
  static const bool offer_parses = lss::sdp::parse_sdp(lss::sdp::offer_pull(kLocal, {true})).ok();
  check(offer_parses);

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto answer = lss::sdp::parse_sdp(text);
  if (!answer.ok()) return 0;
  auto taken = lss::sdp::accept_pull_answer(*answer, kLocal);
  if (!taken.ok()) {
    check(taken.error().status >= 400 && taken.error().status < 600);
    return 0;
  }
  check(taken->sdp.empty());
  for (const auto& t : taken->tracks) {
    bool in_answer = false;
    for (const auto& m : answer->media) in_answer |= m.mid() == t.mid;
    check(in_answer);
  }
  // A fresh engine per input keeps runs independent of each other.
  lss::sfu::Engine engine(cert, [](lss::ByteSpan, const lss::SocketAddress&) {}, {});
  const auto now = lss::Clock::now();
  if (pull(engine, *answer, false, now)) (void)pull(engine, *answer, true, now);

  lss::sfu::EngineOptions linked;
  int links = 0;
  linked.open_link = [&links]() -> std::optional<uint16_t> { return uint16_t(++links); };
  linked.close_link = [&links](uint16_t) { --links; };
  {
    lss::sfu::Engine edge(
        cert, [](lss::ByteSpan, const lss::SocketAddress&) {}, linked);
    auto offered = edge.prepare_pull("cam", now, false, lss::sfu::PullFrom::kNode);
    check(std::holds_alternative<lss::sfu::PullOffered>(offered));
    auto done =
        edge.complete_pull(std::get<lss::sfu::PullOffered>(offered).session_id, *answer, now);
    check(std::holds_alternative<lss::sfu::SessionCreated>(done) == (links == 1));
    edge.tick(now + std::chrono::milliseconds(100));  // its first checks go out
  }
  check(links == 0);  // the engine closed the link it opened
  return 0;
}
