#pragma once
// The SFU as the offerer toward a publisher, as when it calls a PeerJS
// streamer (the original server's headless browser did the same): an offer
// to receive one audio and one video track, and the negotiation of the
// streamer's answer into the tracks the SFU publishes.
#include <string>

#include "common/result.hpp"
#include "sdp/negotiation.hpp"
#include "sdp/session_description.hpp"

namespace lss::sdp {

struct PullOfferOptions {
  // Add an SCTP data channel section (mid "2").
  bool data_channel = false;
  // a=ice-lite; false when we run the checks (a node pulling from a node).
  bool ice_lite = true;
};

// mids "0" (audio) and "1" (video), recvonly, every codec the SFU forwards
// and records (VP8 first, the browsers' default), BUNDLE, rtcp-mux,
// a=setup:actpass and (unless told otherwise) a=ice-lite.
std::string offer_pull(const LocalTransport& local, const PullOfferOptions& options = {});

// The streamer's answer to offer_pull(): its tracks (codec, SSRCs,
// extensions) and transport. `sdp` of the result is empty. Fails when the
// answer sends nothing we can take.
Result<PublishAnswer, NegotiationError> accept_pull_answer(const SessionDescription& answer,
                                                           const LocalTransport& local);

}  // namespace lss::sdp
