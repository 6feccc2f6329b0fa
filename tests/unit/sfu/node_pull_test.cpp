// A node pulling a stream from another node (cluster relay), two engines in
// process: the edge's offer, the origin's WHEP answer, the edge's own ICE
// checks from a link socket, DTLS with the edge as client, media from the
// origin's publisher to a viewer on the edge; the pull ends when the origin
// goes silent, and some time after its last viewer left.
#include <gtest/gtest.h>

#include <set>

#include "rtp/rtp_packet.hpp"
#include "sfu/engine.hpp"
#include "stun/stun_message.hpp"
#include "test_peer.hpp"

namespace lss::testing {
namespace {

using namespace std::chrono_literals;

class NodePullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = DtlsCertificate::generate().value();
    client_cert_ = DtlsCertificate::generate().value();
    sfu::EngineOptions o;
    o.candidates = {{"127.0.0.1", kOrigin.port}};
    o.start_recording = [this](const std::string&, const std::string&,
                               const std::vector<sfu::PublishedTrack>&) {
      ++recordings_;
      return nullptr;
    };
    origin_ = std::make_unique<sfu::Engine>(
        cert_, [this](ByteSpan d, const SocketAddress& to) { push(d, kOrigin, to); }, o);
    sfu::EngineOptions e = o;
    e.candidates = {{"127.0.0.1", kEdge.port}};
    e.worker_index = 1;
    e.on_stream_event = [this](const sfu::StreamEvent& ev) { edge_events_.push_back(ev); };
    e.open_link = [this]() -> std::optional<uint16_t> {
      links_.insert(next_link_);
      return next_link_++;
    };
    e.close_link = [this](uint16_t id) { links_.erase(id); };
    edge_ = std::make_unique<sfu::Engine>(
        cert_,
        [this](ByteSpan d, const SocketAddress& to) {
          if (!to.link) return push(d, kEdge, to);
          // Out of link socket N: from its own port, to the address alone.
          SocketAddress plain = to;
          plain.link = 0;
          push(d, link_address(to.link), plain);
        },
        e);
  }

  static SocketAddress link_address(uint16_t id) {
    return SocketAddress::ipv4(0x7f000002, uint16_t(50000 + id));
  }

  void push(ByteSpan d, const SocketAddress& from, const SocketAddress& to) {
    net_.push_back({Bytes(d.begin(), d.end()), from, to});
  }

  void pump() {
    for (int guard = 0; guard < 20000 && !net_.empty(); ++guard) {
      Datagram d = std::move(net_.front());
      net_.pop_front();
      if (silent_origin_ && (d.from == kOrigin || d.to == kOrigin)) continue;
      if (d.to == kOrigin) {
        origin_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
      } else if (d.to == kEdge) {
        edge_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
      } else if (d.to.ip == link_address(0).ip && d.to.port > 50000) {
        // Arrived on link socket N: the edge sees the link in the source.
        SocketAddress from = d.from;
        from.link = uint16_t(d.to.port - 50000);
        if (links_.count(from.link)) {
          edge_->handle_datagram(d.data.data(), d.data.size(), from, now_);
        }
      } else {
        for (TestPeer* p : peers_) {
          if (p->address() == d.to) p->receive(d, net_, now_);
        }
      }
    }
  }

  void advance(Duration d) {
    now_ += d;
    origin_->tick(now_);
    edge_->tick(now_);
    pump();
  }

  std::string connect(TestPeer& peer, bool publisher, sfu::Engine& engine) {
    peers_.push_back(&peer);
    auto sd = sdp::parse_sdp(peer.offer(publisher));
    auto r = publisher ? engine.publish("cam", sd.value(), now_)
                       : engine.subscribe("cam", sd.value(), now_);
    auto* created = std::get_if<sfu::SessionCreated>(&r);
    if (!created) {
      ADD_FAILURE() << std::get<sfu::Failure>(r).reason;
      return {};
    }
    EXPECT_TRUE(peer.set_answer(created->answer_sdp));
    peer.send_check(net_);
    pump();
    for (int i = 0; i < 5 && !peer.connected(); ++i) advance(20ms);
    EXPECT_TRUE(peer.connected());
    return created->session_id;
  }

  // The edge pulls "cam" from the origin, as ClusterRelays does over HTTP.
  void pull() {
    auto offered = edge_->prepare_pull("cam", now_, false, sfu::PullFrom::kNode);
    ASSERT_TRUE(std::holds_alternative<sfu::PullOffered>(offered));
    const auto& offer = std::get<sfu::PullOffered>(offered);
    // We run the checks: not an ICE-lite offer.
    EXPECT_EQ(offer.offer_sdp.find("a=ice-lite"), std::string::npos);
    auto answer = origin_->subscribe("cam", sdp::parse_sdp(offer.offer_sdp).value(), now_);
    ASSERT_TRUE(std::holds_alternative<sfu::SessionCreated>(answer));
    auto done = edge_->complete_pull(
        offer.session_id, sdp::parse_sdp(std::get<sfu::SessionCreated>(answer).answer_sdp).value(),
        now_, "http://origin:8080");
    ASSERT_TRUE(std::holds_alternative<sfu::SessionCreated>(done))
        << std::get<sfu::Failure>(done).reason;
    EXPECT_EQ(links_.size(), 1u);
    for (int i = 0; i < 50; ++i) advance(20ms);  // checks every 50 ms, then DTLS
  }

  void send_frames(TestPeer& pub, uint16_t from_seq, int n) {
    for (uint16_t seq = from_seq; seq < from_seq + n; ++seq) {
      pub.send_rtp(make_vp8_packet(2222, seq, 900u * seq, seq == from_seq), net_);
    }
    pump();
  }

  const SocketAddress kOrigin = SocketAddress::ipv4(0x7f000001, 40000);
  const SocketAddress kEdge = SocketAddress::ipv4(0x7f000001, 40001);
  std::shared_ptr<DtlsCertificate> cert_, client_cert_;
  std::deque<Datagram> net_;
  // Before the engines: their shutdown still closes links and sends.
  std::vector<sfu::StreamEvent> edge_events_;
  std::set<uint16_t> links_;
  uint16_t next_link_ = 1;
  int recordings_ = 0;
  std::unique_ptr<sfu::Engine> origin_, edge_;
  std::vector<TestPeer*> peers_;
  bool silent_origin_ = false;
  Timestamp now_ = Clock::now();
};

TEST_F(NodePullTest, AViewerOnTheEdgePlaysTheOriginsStreamThroughOnePull) {
  TestPeer pub(SocketAddress::ipv4(0x7f000001, 5000), client_cert_);
  connect(pub, true, *origin_);
  ASSERT_EQ(recordings_, 1);
  pull();
  // The origin serves the pull as one viewer; the edge does not list,
  // record or announce the stream as its own.
  ASSERT_EQ(origin_->streams().size(), 1u);
  EXPECT_EQ(origin_->streams()[0].viewers, 1u);
  EXPECT_TRUE(edge_->streams().empty());
  EXPECT_EQ(recordings_, 1);
  ASSERT_EQ(edge_events_.size(), 1u);
  EXPECT_TRUE(edge_events_[0].info.pulled);

  TestPeer v1(SocketAddress::ipv4(0x7f000001, 5001), client_cert_);
  TestPeer v2(SocketAddress::ipv4(0x7f000001, 5002), client_cert_);
  connect(v1, false, *edge_);
  connect(v2, false, *edge_);
  send_frames(pub, 100, 20);
  for (TestPeer* v : {&v1, &v2}) {
    ASSERT_EQ(v->rtp_in.size(), 20u);
    RtpPacket first;
    ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), first));
    EXPECT_EQ(first.payload()[1], 0x50);  // the keyframe, untouched, through two SFUs
  }
  EXPECT_EQ(origin_->streams()[0].viewers, 1u);  // still one pull for both
  // A publisher of the name on the edge is refused while it is relayed.
  TestPeer other(SocketAddress::ipv4(0x7f000001, 5003), client_cert_);
  auto r = edge_->publish("cam", sdp::parse_sdp(other.offer(true)).value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(r));
  EXPECT_EQ(std::get<sfu::Failure>(r).status, 409);
}

TEST_F(NodePullTest, ASilentOriginEndsThePullWithinTheLinkTimeout) {
  TestPeer pub(SocketAddress::ipv4(0x7f000001, 5000), client_cert_);
  connect(pub, true, *origin_);
  pull();
  TestPeer v(SocketAddress::ipv4(0x7f000001, 5001), client_cert_);
  connect(v, false, *edge_);
  send_frames(pub, 100, 5);
  ASSERT_EQ(v.rtp_in.size(), 5u);
  // The origin's node dies: nothing more from it, no goodbye.
  silent_origin_ = true;
  const Timestamp died = now_;
  while (!links_.empty() && now_ - died < 10s) advance(100ms);
  EXPECT_TRUE(links_.empty()) << "the link is closed with the pull";
  const auto took = now_ - died;
  EXPECT_GE(took, 4s);
  EXPECT_LE(took, 6s + 200ms);
  ASSERT_EQ(edge_events_.size(), 2u);
  EXPECT_EQ(edge_events_[1].kind, sfu::StreamEvent::Kind::kEnded);
  // The name is free on the edge again.
  auto again = edge_->prepare_pull("cam", now_, false, sfu::PullFrom::kNode);
  EXPECT_TRUE(std::holds_alternative<sfu::PullOffered>(again));
}

TEST_F(NodePullTest, ThePullEndsAWhileAfterItsLastViewerLeft) {
  TestPeer pub(SocketAddress::ipv4(0x7f000001, 5000), client_cert_);
  connect(pub, true, *origin_);
  pull();
  TestPeer v(SocketAddress::ipv4(0x7f000001, 5001), client_cert_);
  const std::string viewer = connect(v, false, *edge_);
  ASSERT_TRUE(edge_->end_session("cam", viewer, false));
  const Timestamp left = now_;
  while (!links_.empty() && now_ - left < 30s) {
    advance(500ms);
    // The publisher stays: media and its consent checks go on.
    pub.send_check(net_);
    send_frames(pub, uint16_t(200 + (now_ - left) / 500ms), 1);
  }
  EXPECT_TRUE(links_.empty());
  EXPECT_GE(now_ - left, sfu::Engine::kPulledLinger);
  EXPECT_LE(now_ - left, sfu::Engine::kPulledLinger + 1s);
  // The origin heard the close (DTLS close_notify) and let the pull go.
  for (int i = 0; i < 5; ++i) advance(100ms);
  ASSERT_EQ(origin_->streams().size(), 1u);
  EXPECT_EQ(origin_->streams()[0].viewers, 0u);
}

// Answers without a ufrag go to the peer at their source; requests without
// one are dropped unanswered, even from a peer's address (no 400s sent
// wherever a spoofed source says).
TEST_F(NodePullTest, OnlyAnswersWithoutAUfragGoByTheirSource) {
  TestPeer pub(SocketAddress::ipv4(0x7f000001, 5000), client_cert_);
  connect(pub, true, *origin_);
  net_.clear();
  const TransactionId id{};
  Bytes request = StunBuilder(stun::kBindingRequest, id).finish("");
  origin_->handle_datagram(request.data(), request.size(), pub.address(), now_);
  EXPECT_TRUE(net_.empty());
  // The edge's pull takes its answers by source (pull() connects that way).
  pull();
  TestPeer v(SocketAddress::ipv4(0x7f000001, 5001), client_cert_);
  connect(v, false, *edge_);
  send_frames(pub, 100, 3);
  EXPECT_EQ(v.rtp_in.size(), 3u);
}

TEST_F(NodePullTest, ShuttingDownClosesTheLinks) {
  TestPeer pub(SocketAddress::ipv4(0x7f000001, 5000), client_cert_);
  connect(pub, true, *origin_);
  pull();
  ASSERT_EQ(links_.size(), 1u);
  edge_->shutdown();
  EXPECT_TRUE(links_.empty());
}

TEST_F(NodePullTest, AnAnswerWithoutCandidatesIsRefusedAndLeavesNothing) {
  TestPeer pub(SocketAddress::ipv4(0x7f000001, 5000), client_cert_);
  connect(pub, true, *origin_);
  auto offered = edge_->prepare_pull("cam", now_, false, sfu::PullFrom::kNode);
  const auto& offer = std::get<sfu::PullOffered>(offered);
  auto answer = origin_->subscribe("cam", sdp::parse_sdp(offer.offer_sdp).value(), now_);
  std::string sdp = std::get<sfu::SessionCreated>(answer).answer_sdp;
  for (size_t at; (at = sdp.find("a=candidate:")) != std::string::npos;) {
    sdp.erase(at, sdp.find("\r\n", at) + 2 - at);
  }
  auto done = edge_->complete_pull(offer.session_id, sdp::parse_sdp(sdp).value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(done));
  EXPECT_EQ(std::get<sfu::Failure>(done).status, 502);
  EXPECT_TRUE(links_.empty());
  EXPECT_TRUE(edge_events_.empty());
}

TEST_F(NodePullTest, AWorkerWithoutLinksCannotPullFromANode) {
  sfu::EngineOptions o;
  sfu::Engine plain(
      cert_, [](ByteSpan, const SocketAddress&) {}, o);
  auto r = plain.prepare_pull("cam", now_, false, sfu::PullFrom::kNode);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(r));
  EXPECT_EQ(std::get<sfu::Failure>(r).status, 501);
}

}  // namespace
}  // namespace lss::testing
