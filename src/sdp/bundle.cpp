#include "sdp/bundle.hpp"

#include <algorithm>

namespace lss::sdp {

OfferBundle::OfferBundle(const SessionDescription& offer)
    : offer_(offer), group_(offer.bundle_group()) {
  if (group_.empty()) return;
  for (const auto& m : offer.media) {
    if (m.has_attribute("mid") && m.mid() == group_.front()) {
      tag_ = &m;
      break;
    }
  }
}

bool OfferBundle::bundled(const MediaSection& m) const {
  if (!m.has_attribute("mid")) return false;
  return std::find(group_.begin(), group_.end(), m.mid()) != group_.end();
}

bool OfferBundle::usable(const MediaSection& m) const {
  if (m.port != 0) return true;
  return m.has_attribute("bundle-only") && bundled(m);
}

std::optional<std::string> OfferBundle::transport_attribute(const MediaSection& m,
                                                            std::string_view name) const {
  if (tag_ && bundled(m)) {
    if (auto v = tag_->attribute(name)) return v;
  }
  return offer_.transport_attribute(m, name);
}

std::vector<std::string> OfferBundle::answer_group(
    const std::vector<const MediaSection*>& accepted) const {
  std::vector<std::string> out;
  for (const auto& mid : group_) {
    for (const MediaSection* m : accepted) {
      if (m->mid() == mid && std::find(out.begin(), out.end(), mid) == out.end()) {
        out.push_back(mid);
      }
    }
  }
  return out;
}

std::string OfferBundle::one_transport_error(
    const std::vector<const MediaSection*>& accepted) const {
  if (accepted.size() < 2) return {};
  for (const MediaSection* m : accepted) {
    if (!bundled(*m)) {
      return "BUNDLE is required: offer all media sections in one a=group:BUNDLE "
             "(bundlePolicy 'max-bundle' in browsers, bundle-policy=max-bundle in GStreamer's "
             "webrtcbin); section '" +
             m->mid() + "' is outside it";
    }
  }
  return {};
}

}  // namespace lss::sdp
