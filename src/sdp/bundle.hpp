#pragma once
// How the sections of an offer share transports (RFC 8843 BUNDLE).
//
// The server has one ICE/DTLS transport per peer, so it accepts a section
// only when it can ride that transport: a section inside the offer's BUNDLE
// group, or the one and only section of an offer without BUNDLE. Offers made
// with bundle-policy max-bundle (GStreamer's webrtcbin, Firefox, libwebrtc
// when asked) mark every section after the first "bundle-only" with port 0:
// such a section is part of the group, not rejected (RFC 8843 section 6).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sdp/session_description.hpp"

namespace lss::sdp {

class OfferBundle {
 public:
  explicit OfferBundle(const SessionDescription& offer);

  bool has_group() const { return !group_.empty(); }
  // Its mid is in the offer's BUNDLE group.
  bool bundled(const MediaSection& m) const;
  // Not rejected by the offerer: a real port, or port 0 with a=bundle-only
  // inside the BUNDLE group. Port 0 otherwise means rejected (RFC 3264 §6;
  // a bundle-only section outside any group too, RFC 8843 §6).
  bool usable(const MediaSection& m) const;
  // The offerer-tagged section (the group's first mid), whose transport
  // attributes are the whole group's; null without a group.
  const MediaSection* tag() const { return tag_; }

  // A transport attribute (ice-ufrag, ice-pwd, fingerprint, setup) of `m`:
  // for a bundled section the tag's value comes first, since a bundle-only
  // section may carry none; then the section's own; then session level.
  std::optional<std::string> transport_attribute(const MediaSection& m,
                                                 std::string_view name) const;

  // The answer's BUNDLE group: the accepted mids in the offer group's order,
  // so the offerer-tagged section stays first when it is accepted
  // (RFC 8843 §7.3.1); empty when the offer has no group.
  std::vector<std::string> answer_group(const std::vector<const MediaSection*>& accepted) const;

  // Refusal reason when the accepted sections cannot share one transport
  // (several sections, not all in the BUNDLE group); empty when they can.
  std::string one_transport_error(const std::vector<const MediaSection*>& accepted) const;

 private:
  const SessionDescription& offer_;
  std::vector<std::string> group_;
  const MediaSection* tag_ = nullptr;
};

}  // namespace lss::sdp
