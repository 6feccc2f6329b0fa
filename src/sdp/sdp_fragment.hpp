#pragma once
// SDP fragments (RFC 8840, `application/trickle-ice-sdpfrag`): the ICE part
// of an SDP without its session header, as WHIP/WHEP clients PATCH them
// (RFC 9725 §4.3): session-level a=ice-ufrag/a=ice-pwd/a=ice-options, then
// one m= line per media section that carries candidates, with its a=mid,
// a=candidate lines and a=end-of-candidates. Sans-I/O and bounded like
// parse_sdp; malformed text is an error naming the line, but a candidate
// that does not parse is only marked unusable (RFC 9725 §4.3.1: candidates
// that cannot be used are discarded, the request still succeeds).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lss::sdp {

constexpr size_t kMaxFragmentBytes = 64 * 1024;
constexpr size_t kMaxFragmentLines = 1000;
constexpr size_t kMaxFragmentSections = 32;

// One a=candidate value (RFC 8839 §5.1), the parts an ICE agent needs.
struct IceCandidate {
  std::string foundation;
  unsigned component = 0;
  std::string transport;  // lowercased: udp, tcp
  uint32_t priority = 0;
  std::string address;  // IP literal or FQDN (e.g. an mDNS .local name)
  uint16_t port = 0;
  std::string type;  // host, srflx, prflx, relay
};
// Parses the value after "a=candidate:"; nullopt when malformed.
std::optional<IceCandidate> parse_ice_candidate(std::string_view value);

struct IceCredentials {
  std::string ufrag, pwd;
};

// ice-char (RFC 8839 §5.4): ALPHA / DIGIT / "+" / "/"; a ufrag has 4 to
// 256 of them, a password 22 to 256.
bool valid_ice_ufrag(std::string_view s);
bool valid_ice_pwd(std::string_view s);

struct FragmentSection {
  // The m= line's fields, as written ("audio", "9", "UDP/TLS/RTP/SAVPF", {"111"}).
  std::string media, port, proto;
  std::vector<std::string> formats;
  std::string mid;
  std::optional<std::string> ice_ufrag, ice_pwd;  // media-level, when given there
  std::vector<std::string> candidates;            // values after "a=candidate:", in order
  bool end_of_candidates = false;
};

struct SdpFragment {
  // Session level (before the first m= line).
  std::optional<std::string> ice_ufrag, ice_pwd;
  std::vector<std::string> ice_options;  // tokens of a=ice-options
  bool ice_lite = false;
  bool end_of_candidates = false;  // a session-level a=end-of-candidates
  std::vector<FragmentSection> media;

  // The fragment's ICE credentials: session level, else the first media
  // section's (a bundled fragment has one set). A part may be missing.
  std::optional<std::string> ufrag() const;
  std::optional<std::string> pwd() const;
  // Every candidate of every section, parsed; malformed ones are skipped.
  std::vector<IceCandidate> parsed_candidates() const;
};

// Parses an sdpfrag. Errors: over 64 KiB or 1000 lines, a line that is not
// "<letter>=<value>", a NUL, a bad m= line, more than 32 sections, a
// malformed or conflicting ice-ufrag/ice-pwd, a v= line (a whole SDP, not
// a fragment). Other attributes and lines are ignored.
Result<SdpFragment> parse_sdp_fragment(std::string_view text);

// Writes a fragment (CRLF line ends) that parse_sdp_fragment reads back.
std::string write_sdp_fragment(const SdpFragment& fragment);

}  // namespace lss::sdp
