#pragma once
// SDP (RFC 8866) as a faithful generic model: session lines and attributes,
// media sections with their m-line, other lines and attributes, all in the
// order given. Parsing is bounded and reports the line number of any error.
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/parse_number.hpp"
#include "common/result.hpp"

namespace lss::sdp {

constexpr size_t kMaxSdpBytes = 64 * 1024;
constexpr size_t kMaxLines = 2000;
constexpr size_t kMaxMediaSections = 32;

struct Attribute {
  std::string name;
  std::string value;
  bool has_value = false;  // "a=name:value" vs "a=name"
};

struct Line {
  char type;
  std::string value;
};

struct RtpMap {
  uint8_t payload_type;
  std::string encoding;  // as written, e.g. "VP8", "opus"
  uint32_t clock_rate;
  uint8_t channels;  // 0 when absent
};

struct ExtMap {
  uint8_t id;
  std::string direction;  // optional "/sendonly" etc. without the slash
  std::string uri;
};

struct SsrcLine {
  uint32_t ssrc;
  std::string attribute;
  std::string value;
};

struct Fingerprint {
  std::string algorithm;
  std::string value;
};

class MediaSection {
 public:
  std::string media;  // audio, video, application, ...
  uint16_t port = 0;
  std::string proto;
  std::vector<std::string> formats;
  std::vector<Line> lines;  // c=, b=, i=, k= (raw, in order)
  std::vector<Attribute> attributes;

  std::optional<std::string> attribute(std::string_view name) const;  // first value
  std::vector<std::string> attribute_values(std::string_view name) const;
  bool has_attribute(std::string_view name) const;

  std::string mid() const;
  std::string direction() const;  // sendrecv (default), sendonly, recvonly, inactive
  std::vector<RtpMap> rtpmaps() const;
  std::optional<RtpMap> rtpmap(uint8_t pt) const;
  std::string fmtp(uint8_t pt) const;                   // raw parameter string, or empty
  std::vector<std::string> rtcp_fbs(uint8_t pt) const;  // includes "*" wildcards
  std::vector<ExtMap> extmaps() const;
  std::vector<SsrcLine> ssrcs() const;
  std::vector<std::vector<uint32_t>> ssrc_groups(std::string_view semantics) const;
};

class SessionDescription {
 public:
  std::vector<Line> lines;  // v=, o=, s=, t=, c=, b= ... (session level, in order)
  std::vector<Attribute> attributes;
  std::vector<MediaSection> media;

  std::optional<std::string> attribute(std::string_view name) const;
  std::vector<std::string> attribute_values(std::string_view name) const;
  std::vector<std::string> bundle_group() const;  // mids of a=group:BUNDLE, if any

  // Media-level value wins over session level (ice-ufrag, ice-pwd, setup, fingerprint).
  std::optional<std::string> transport_attribute(const MediaSection& m,
                                                 std::string_view name) const;
  std::optional<Fingerprint> fingerprint(const MediaSection& m) const;

  std::string to_string() const;
};

Result<SessionDescription> parse_sdp(std::string_view text);

// "sha-256 AB:CD:..." -> {algorithm lowercased, value}; empty when malformed.
std::optional<Fingerprint> parse_fingerprint(std::string_view value);

using lss::parse_number;

// "key=value;key2=value2" -> map (keys lowercased).
std::map<std::string, std::string> parse_fmtp(std::string_view fmtp);

}  // namespace lss::sdp
