// WHIP/WHEP PATCH decisions (RFC 9725 §4.3): the order of the checks,
// If-Match matching, and the ICE restart answer.
#include "signal/whip_patch.hpp"

#include <gtest/gtest.h>

namespace lss::signal {
namespace {

using Action = PatchDecision::Action;

const sfu::SessionIce kSession{"\"0123456789abcdef0123\"", "cli1"};

PatchRequest request(std::optional<std::string> if_match, std::string body,
                     bool content_type_ok = true) {
  PatchRequest r;
  r.content_type_ok = content_type_ok;
  r.if_match = std::move(if_match);
  auto f = sdp::parse_sdp_fragment(body);
  if (f.ok()) {
    r.fragment = std::move(f.value());
  } else {
    r.parse_error = f.error().message;
  }
  return r;
}

const std::string kTrickle =
    "a=ice-ufrag:cli1\r\na=ice-pwd:0123456789012345678901\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\n";
const std::string kRestart =
    "a=ice-ufrag:cli2\r\na=ice-pwd:abcdefghijabcdefghij22\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\na=end-of-candidates\r\n";

TEST(WhipPatch, ChecksInOrder404First) {
  // Everything wrong at once: the unknown session wins.
  auto d = decide_patch(request(std::nullopt, "garbage", false), std::nullopt);
  EXPECT_EQ(d.action, Action::kRefuse);
  EXPECT_EQ(d.status, 404);
  // Then the content type, then If-Match missing, then a stale ETag, then the body.
  EXPECT_EQ(decide_patch(request(std::nullopt, "garbage", false), kSession).status, 415);
  EXPECT_EQ(decide_patch(request(std::nullopt, "garbage"), kSession).status, 428);
  EXPECT_EQ(decide_patch(request("\"stale\"", "garbage"), kSession).status, 412);
  d = decide_patch(request(kSession.etag, "garbage"), kSession);
  EXPECT_EQ(d.status, 400);
  EXPECT_NE(d.reason.find("malformed SDP fragment: line 1"), std::string::npos) << d.reason;
  EXPECT_EQ(decide_patch(request("*", "garbage"), kSession).status, 400);
}

TEST(WhipPatch, TrickleWithTheCurrentEtagIs204) {
  auto d = decide_patch(request(kSession.etag, kTrickle), kSession);
  EXPECT_EQ(d.action, Action::kTrickle);
  EXPECT_EQ(d.status, 204);
  // In a list, with spaces; an end-of-candidates alone; If-Match: * with
  // the current ufrag (any current entity matches; nothing to restart).
  EXPECT_EQ(decide_patch(request("\"x\", " + kSession.etag, kTrickle), kSession).status, 204);
  EXPECT_EQ(decide_patch(request(kSession.etag, "a=end-of-candidates\r\n"), kSession).status, 204);
  EXPECT_EQ(decide_patch(request("*", kTrickle), kSession).action, Action::kTrickle);
  // Candidates of another generation with a matching ETag: ignored (RFC 8840).
  EXPECT_EQ(decide_patch(request(kSession.etag, kRestart), kSession).action, Action::kTrickle);
}

TEST(WhipPatch, IfMatchStarWithNewCredentialsIsARestart) {
  auto d = decide_patch(request("*", kRestart), kSession);
  EXPECT_EQ(d.action, Action::kRestart);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(decide_patch(request(" * ", kRestart), kSession).action, Action::kRestart);
  // The same restart sent again before the client used its answer (lost
  // on the way): restarted again, so the client gets credentials.
  sfu::SessionIce pending{kSession.etag, "cli2", true};
  EXPECT_EQ(decide_patch(request("*", kRestart), pending).action, Action::kRestart);
  EXPECT_EQ(decide_patch(request(kSession.etag, kRestart), pending).action, Action::kTrickle);
  // A restart needs the new password too.
  d = decide_patch(request("*", "a=ice-ufrag:cli2\r\n"), kSession);
  EXPECT_EQ(d.status, 400);
  EXPECT_NE(d.reason.find("ice-pwd"), std::string::npos);
}

TEST(WhipPatch, IfMatchComparesStrongly) {
  const std::string tag = "\"abc\"";
  EXPECT_TRUE(if_match_matches("*", tag));
  EXPECT_TRUE(if_match_matches("\"abc\"", tag));
  EXPECT_TRUE(if_match_matches(" \"x\" ,\"abc\" ", tag));
  EXPECT_TRUE(if_match_matches("\"a,b\", \"abc\"", tag));
  EXPECT_FALSE(if_match_matches("W/\"abc\"", tag));  // weak never matches
  EXPECT_TRUE(if_match_matches("W/\"abc\", \"abc\"", tag));
  EXPECT_FALSE(if_match_matches("abc", tag));  // unquoted: not an entity tag
  EXPECT_FALSE(if_match_matches("\"abc", tag));
  EXPECT_FALSE(if_match_matches("\"abcd\"", tag));
  EXPECT_FALSE(if_match_matches("", tag));
  EXPECT_FALSE(if_match_matches("\"x\" \"abc\"", tag));  // no comma
  EXPECT_FALSE(if_match_matches("W/", tag));
  EXPECT_FALSE(if_match_matches("W/x", tag));
}

TEST(WhipPatch, RestartAnswerHasTheNewCredentialsAndOurCandidates) {
  sdp::LocalTransport local;
  local.ice_ufrag = "Srv2";
  local.ice_pwd = "NEWpassword0123456789012";
  local.fingerprint_sha256 = "AB:CD";
  local.candidates = {{"192.0.2.10", 40000}, {"127.0.0.1", 40000}};
  auto req = sdp::parse_sdp_fragment(kRestart);
  ASSERT_TRUE(req.ok());
  const std::string body = restart_answer_fragment(*req, local);
  auto f = sdp::parse_sdp_fragment(body);
  ASSERT_TRUE(f.ok()) << f.error().message << "\n" << body;
  EXPECT_TRUE(f->ice_lite);
  EXPECT_EQ(f->ufrag(), "Srv2");
  EXPECT_EQ(f->pwd(), "NEWpassword0123456789012");
  ASSERT_EQ(f->media.size(), 1u);
  EXPECT_EQ(f->media[0].mid, "0");
  EXPECT_EQ(f->media[0].media, "audio");
  EXPECT_TRUE(f->media[0].end_of_candidates);
  auto cands = f->parsed_candidates();
  ASSERT_EQ(cands.size(), 2u);
  EXPECT_EQ(cands[0].address, "192.0.2.10");
  EXPECT_EQ(cands[0].port, 40000);
  EXPECT_EQ(cands[0].type, "host");
  EXPECT_EQ(body.find("fingerprint"), std::string::npos);  // ICE only
  // A request with credentials only: credentials only.
  auto bare = sdp::parse_sdp_fragment("a=ice-ufrag:cli2\r\na=ice-pwd:abcdefghijabcdefghij22\r\n");
  ASSERT_TRUE(bare.ok());
  auto g = sdp::parse_sdp_fragment(restart_answer_fragment(*bare, local));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->ufrag(), "Srv2");
  EXPECT_TRUE(g->media.empty());
}

}  // namespace
}  // namespace lss::signal
