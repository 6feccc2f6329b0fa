#include "sdp/sdp_writer.hpp"

#include <string_view>

#include "common/random.hpp"

namespace lss::sdp {

SetupLine setup_for(DtlsRole our_role) {
  return our_role == DtlsRole::kClient ? SetupLine::kActive : SetupLine::kPassive;
}

namespace {

const char* setup_value(SetupLine setup) {
  return setup == SetupLine::kActive    ? "active"
         : setup == SetupLine::kPassive ? "passive"
                                        : "actpass";
}

// A candidate's connection-address (RFC 8839 §5.1): an IPv6 address is
// written bare, never in the brackets of a URI or "[ip]:port".
std::string_view candidate_address(std::string_view ip) {
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') return ip.substr(1, ip.size() - 2);
  return ip;
}

}  // namespace

std::string session_header(const SessionHeader& h) {
  std::string s =
      "v=0\r\no=- " + std::to_string(random_u64() >> 2) + " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  if (!h.bundle.empty()) {
    s += "a=group:BUNDLE";
    for (const auto& mid : h.bundle) s += " " + mid;
    s += "\r\n";
  }
  if (h.extmap_allow_mixed) s += "a=extmap-allow-mixed\r\n";
  if (h.ice_lite) s += "a=ice-lite\r\n";
  if (h.transport) {
    s += "a=ice-ufrag:" + h.transport->ice_ufrag + "\r\n";
    s += "a=ice-pwd:" + h.transport->ice_pwd + "\r\n";
    s += "a=fingerprint:sha-256 " + h.transport->fingerprint_sha256 + "\r\n";
    s += std::string("a=setup:") + setup_value(h.setup) + "\r\n";
  }
  if (!h.msid_stream.empty()) s += "a=msid-semantic: WMS " + h.msid_stream + "\r\n";
  return s;
}

std::string transport_lines(const LocalTransport& local, SetupLine setup, bool rtcp_mux) {
  std::string s = "c=IN IP4 0.0.0.0\r\n";
  s += "a=ice-ufrag:" + local.ice_ufrag + "\r\n";
  s += "a=ice-pwd:" + local.ice_pwd + "\r\n";
  s += "a=ice-options:ice2\r\n";
  s += "a=fingerprint:sha-256 " + local.fingerprint_sha256 + "\r\n";
  s += std::string("a=setup:") + setup_value(setup) + "\r\n";
  int foundation = 1;
  for (const auto& [ip, port] : local.candidates) {
    // Host type preference 126, local preference falling with list order.
    const uint32_t prio = (126u << 24) | (uint32_t(65535 - foundation) << 8) | 255u;
    s += "a=candidate:" + std::to_string(foundation++) + " 1 udp " + std::to_string(prio) + " ";
    s += candidate_address(ip);
    s += " " + std::to_string(port) + " typ host\r\n";
  }
  // Passive ICE-TCP (RFC 6544) for clients whose UDP is blocked; a local
  // preference under every UDP one, so UDP wins wherever it works.
  int rank = 0;
  for (const auto& [ip, port] : local.tcp_candidates) {
    const uint32_t prio = (126u << 24) | (uint32_t(32767 - rank++) << 8) | 255u;
    s += "a=candidate:" + std::to_string(foundation++) + " 1 tcp " + std::to_string(prio) + " ";
    s += candidate_address(ip);
    s += " " + std::to_string(port) + " typ host tcptype passive\r\n";
  }
  s += "a=end-of-candidates\r\n";
  if (rtcp_mux) s += "a=rtcp-mux\r\n";
  return s;
}

std::string rejected_section(const MediaSection& m, SetupLine setup) {
  std::string s = "m=" + m.media + " 0 " + m.proto;
  if (m.formats.empty()) {
    s += " 0";
  } else {
    for (const auto& f : m.formats) s += " " + f;
  }
  s += "\r\nc=IN IP4 0.0.0.0\r\n";
  if (m.has_attribute("mid")) s += "a=mid:" + m.mid() + "\r\n";
  s += std::string("a=setup:") + setup_value(setup) + "\r\n";
  s += "a=inactive\r\n";
  return s;
}

std::string codec_lines(const CodecParams& c, const std::vector<std::string>& fbs,
                        std::optional<uint8_t> rtx) {
  const std::string pt = std::to_string(c.payload_type);
  std::string s = "a=rtpmap:" + pt + " " + (c.name == "opus" ? "opus" : c.name) + "/" +
                  std::to_string(c.clock_rate);
  if (c.channels) s += "/" + std::to_string(c.channels);
  s += "\r\n";
  if (!c.fmtp.empty()) s += "a=fmtp:" + pt + " " + c.fmtp + "\r\n";
  for (const auto& fb : fbs) s += "a=rtcp-fb:" + pt + " " + fb + "\r\n";
  if (rtx) {
    s += "a=rtpmap:" + std::to_string(*rtx) + " rtx/90000\r\n";
    s += "a=fmtp:" + std::to_string(*rtx) + " apt=" + pt + "\r\n";
  }
  return s;
}

std::string data_channel_section(const LocalTransport& local, SetupLine setup,
                                 const std::string& mid, const std::string& proto) {
  std::string s = "m=application 9 " + proto + " webrtc-datachannel\r\n";
  s += transport_lines(local, setup, false);
  s += "a=mid:" + mid + "\r\n";
  s += "a=sctp-port:" + std::to_string(kSctpPort) + "\r\n";
  s += "a=max-message-size:" + std::to_string(kMaxMessageSize) + "\r\n";
  return s;
}

}  // namespace lss::sdp
