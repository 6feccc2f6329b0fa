// ClusterRelays against a stand-in owner node (a one-shot HTTP listener):
// the pull's offer goes to the owner's WHEP with CLUSTER_SECRET, waiters
// share one pull, and a pull that fails here after the owner's 201 ends the
// owner's session with a DELETE rather than leaving it to lapse.
#include "app/cluster_relays.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include "../support/capturing_server.hpp"
#include "../support/one_engine.hpp"

namespace lss {
namespace {

using namespace std::chrono_literals;

// One engine that can open node links, every job run at once.
class LinkedEngine : public signal::OneEngine {
 public:
  LinkedEngine() : OneEngine(DtlsCertificate::generate().value(), options()) {}

 private:
  static sfu::EngineOptions options() {
    sfu::EngineOptions o;
    o.open_link = []() -> std::optional<uint16_t> { return 1; };
    o.close_link = [](uint16_t) {};
    return o;
  }
};

// An answer the engine negotiates (sendonly Opus + VP8) but whose owner
// announced no candidate: the pull fails after the owner said 201.
const std::string kAnswerWithoutCandidates =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:owner\r\n"
    "a=ice-pwd:ownerpasswordownerpasswd\r\na=fingerprint:sha-256 "
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
    "67:89\r\na=setup:passive\r\na=rtcp-mux\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=ssrc:1111 cname:o\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=ice-ufrag:owner\r\n"
    "a=ice-pwd:ownerpasswordownerpasswd\r\na=fingerprint:sha-256 "
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
    "67:89\r\na=setup:passive\r\na=rtcp-mux\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
    "a=ssrc:2222 cname:o\r\n";

std::string created(const std::string& location, const std::string& body) {
  return "HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nLocation: " + location +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

TEST(ClusterRelays, AFailedPullEndsTheOwnersSessionAndEveryWaiterHearsOnce) {
  testing::CapturingServer del;  // the owner's session URL, on a port of its own
  testing::CapturingServer owner(
      created("http://127.0.0.1:" + std::to_string(del.port()) + "/whep/cam/abc",
              kAnswerWithoutCandidates));
  boost::asio::io_context control;
  // The relays post back from their HTTP thread: the loop waits for them.
  auto busy = boost::asio::make_work_guard(control);
  LinkedEngine engines;
  std::vector<std::string> heard;
  {
    ClusterRelays relays(control, engines, "node-secret");
    const std::string url = "http://127.0.0.1:" + std::to_string(owner.port());
    // Two viewers at once: one pull (the listener takes one request only).
    relays.pull("cam", url, [&](const std::string& e) { heard.push_back(e); });
    relays.pull("cam", url, [&](const std::string& e) { heard.push_back(e); });
    for (int i = 0; i < 500 && heard.size() < 2; ++i) control.run_for(10ms);
    const std::string post = owner.request();
    EXPECT_EQ(post.rfind("POST /whep/cam HTTP/1.1\r\n", 0), 0u) << post;
    EXPECT_NE(post.find("Authorization: Bearer node-secret\r\n"), std::string::npos);
    EXPECT_NE(post.find("Content-Type: application/sdp\r\n"), std::string::npos);
    EXPECT_EQ(post.find("a=ice-lite"), std::string::npos);  // we run the checks
    const std::string gone = del.request();
    EXPECT_EQ(gone.rfind("DELETE /whep/cam/abc HTTP/1.1\r\n", 0), 0u) << gone;
    EXPECT_NE(gone.find("Authorization: Bearer node-secret\r\n"), std::string::npos);
  }
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_NE(heard[0].find("no UDP candidate"), std::string::npos) << heard[0];
  EXPECT_EQ(heard[0], heard[1]);
  // Nothing is left behind here: the name can be pulled again.
  auto again = engines.engine().prepare_pull("cam", Clock::now(), false, sfu::PullFrom::kNode);
  EXPECT_TRUE(std::holds_alternative<sfu::PullOffered>(again));
}

TEST(ClusterRelays, AnOwnerThatRefusesIsReportedWithItsAnswer) {
  testing::CapturingServer owner(
      "HTTP/1.1 404 Not Found\r\nContent-Length: 24\r\nConnection: close\r\n\r\n"
      "stream 'cam' is not live");
  boost::asio::io_context control;
  // The relays post back from their HTTP thread: the loop waits for them.
  auto busy = boost::asio::make_work_guard(control);
  LinkedEngine engines;
  std::string error;
  bool done = false;
  {
    ClusterRelays relays(control, engines, "");
    relays.pull("cam", "http://127.0.0.1:" + std::to_string(owner.port()),
                [&](const std::string& e) {
                  error = e;
                  done = true;
                });
    for (int i = 0; i < 500 && !done; ++i) control.run_for(10ms);
    // No secret: no Authorization header at all.
    EXPECT_EQ(owner.request().find("Authorization"), std::string::npos);
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(error, "the node answered 404: stream 'cam' is not live");
}

}  // namespace
}  // namespace lss
