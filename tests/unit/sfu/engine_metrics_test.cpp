// Engine::metrics(): gauges follow peers coming and going, and counters keep
// what departed viewers and streams did, so none goes down (GET /metrics).
#include "sfu/engine_metrics.hpp"

#include <gtest/gtest.h>

#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "sfu/engine.hpp"
#include "test_peer.hpp"

namespace lss::testing {
namespace {

class EngineMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_cert_ = DtlsCertificate::generate().value();
    client_cert_ = DtlsCertificate::generate().value();
    sfu::EngineOptions opts;
    opts.candidates = {{"127.0.0.1", server_addr_.port}};
    engine_ = std::make_unique<sfu::Engine>(
        server_cert_,
        [this](ByteSpan d, const SocketAddress& to) {
          net_.push_back({Bytes(d.begin(), d.end()), server_addr_, to});
        },
        opts);
  }

  std::unique_ptr<TestPeer> make_peer(uint16_t port) {
    return std::make_unique<TestPeer>(SocketAddress::ipv4(0x7f000001, port), client_cert_);
  }

  void pump() {
    for (int guard = 0; guard < 10000 && !net_.empty(); ++guard) {
      Datagram d = std::move(net_.front());
      net_.pop_front();
      if (d.to == server_addr_) {
        engine_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
      } else {
        for (TestPeer* p : peers_) {
          if (p->address() == d.to) p->receive(d, net_, now_);
        }
      }
    }
  }

  void advance(Duration d) {
    now_ += d;
    engine_->tick(now_);
    pump();
  }

  // Offers (`offer` rewritten by `edit`), checks and handshakes; the session id.
  std::string connect(TestPeer& peer, bool publisher, const std::string& stream,
                      const std::function<void(std::string&)>& edit = nullptr) {
    peers_.push_back(&peer);
    std::string offer = peer.offer(publisher);
    if (edit) edit(offer);
    auto sd = sdp::parse_sdp(offer);
    EXPECT_TRUE(sd.ok());
    auto r = publisher ? engine_->publish(stream, sd.value(), now_)
                       : engine_->subscribe(stream, sd.value(), now_);
    auto* created = std::get_if<sfu::SessionCreated>(&r);
    if (!created) {
      ADD_FAILURE() << "session refused: " << std::get<sfu::Failure>(r).reason;
      return {};
    }
    EXPECT_TRUE(peer.set_answer(created->answer_sdp));
    peer.send_check(net_);
    pump();
    for (int i = 0; i < 5 && !peer.connected(); ++i) advance(std::chrono::milliseconds(20));
    return created->session_id;
  }

  // Counters never go down from `a` to `b`.
  static void expect_monotonic(const sfu::EngineMetrics& a, const sfu::EngineMetrics& b) {
    EXPECT_GE(b.rtp_in, a.rtp_in);
    EXPECT_GE(b.rtp_out, a.rtp_out);
    EXPECT_GE(b.nacks_received, a.nacks_received);
    EXPECT_GE(b.retransmitted, a.retransmitted);
    EXPECT_GE(b.plis_sent, a.plis_sent);
    EXPECT_GE(b.packets_lost, a.packets_lost);
    EXPECT_GE(b.dtls_failures, a.dtls_failures);
  }

  void send_report(TestPeer& v, uint32_t ssrc, int32_t cumulative_lost) {
    ReceiverReport rr;
    rr.ssrc = 77;
    ReportBlock block;
    block.ssrc = ssrc;
    block.cumulative_lost = cumulative_lost;
    rr.report_blocks.push_back(block);
    Bytes b;
    build_receiver_report(rr, b);
    v.send_rtp(b, net_, true);
    pump();
  }

  const SocketAddress server_addr_ = SocketAddress::ipv4(0x7f000001, 40000);
  std::shared_ptr<DtlsCertificate> server_cert_, client_cert_;
  std::deque<Datagram> net_;
  std::unique_ptr<sfu::Engine> engine_;
  std::vector<TestPeer*> peers_;
  Timestamp now_ = Clock::now();
};

TEST_F(EngineMetricsTest, GaugesFollowPeersAndCountersOutliveThem) {
  EXPECT_EQ(engine_->metrics().streams, 0u);
  auto pub = make_peer(5000), v = make_peer(5001);
  const std::string pub_id = connect(*pub, true, "cam");
  const std::string view_id = connect(*v, false, "cam");
  sfu::EngineMetrics m = engine_->metrics();
  EXPECT_EQ(m.streams, 1u);
  EXPECT_EQ(m.publishers, 1u);
  EXPECT_EQ(m.viewers, 1u);
  EXPECT_EQ(m.relays, 0u);

  for (uint16_t seq = 100; seq < 110; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 3000, seq == 100), net_);
  pump();
  advance(std::chrono::milliseconds(20));
  ASSERT_FALSE(v->rtp_in.empty());
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), pkt));
  Bytes nack;
  build_nack(Nack{77, pkt.ssrc(), {pkt.sequence_number()}}, nack);
  v->send_rtp(nack, net_, true);
  pump();
  send_report(*v, pkt.ssrc(), 5);
  Bytes pli;
  build_pli(Pli{77, pkt.ssrc()}, pli);
  v->send_rtp(pli, net_, true);
  pump();
  advance(std::chrono::milliseconds(600));  // past the keyframe request throttle

  const sfu::EngineMetrics watching = engine_->metrics();
  EXPECT_EQ(watching.rtp_in, 10u);
  EXPECT_GE(watching.rtp_out, v->rtp_in.size());
  EXPECT_EQ(watching.nacks_received, 1u);
  EXPECT_EQ(watching.retransmitted, 1u);
  EXPECT_GE(watching.plis_sent, 1u);  // the viewer's PLI, passed on
  EXPECT_EQ(watching.packets_lost, 5u);
  expect_monotonic(m, watching);

  // A lower cumulative loss in a later report does not lower the counter.
  send_report(*v, pkt.ssrc(), 3);
  EXPECT_EQ(engine_->metrics().packets_lost, 5u);

  // The viewer leaves: the gauge falls, its counters stay.
  ASSERT_TRUE(engine_->end_session("cam", view_id, false));
  pump();
  advance(std::chrono::milliseconds(20));
  const sfu::EngineMetrics left = engine_->metrics();
  EXPECT_EQ(left.viewers, 0u);
  EXPECT_EQ(left.streams, 1u);
  expect_monotonic(watching, left);
  EXPECT_EQ(left.nacks_received, 1u);
  EXPECT_EQ(left.retransmitted, 1u);

  // The stream ends: nothing live, every counter kept.
  ASSERT_TRUE(engine_->end_session("cam", pub_id, true));
  pump();
  advance(std::chrono::milliseconds(20));
  const sfu::EngineMetrics ended = engine_->metrics();
  EXPECT_EQ(ended.streams, 0u);
  EXPECT_EQ(ended.publishers, 0u);
  EXPECT_EQ(ended.viewers, 0u);
  expect_monotonic(left, ended);
  EXPECT_EQ(ended.rtp_in, 10u);
}

TEST_F(EngineMetricsTest, CountsFailedDtlsHandshakes) {
  auto pub = make_peer(5000);
  connect(*pub, true, "cam");
  // A viewer whose certificate is not the one its offer names.
  auto other = DtlsCertificate::generate().value();
  auto v = make_peer(5001);
  connect(*v, false, "cam", [&](std::string& offer) {
    const std::string mine = client_cert_->fingerprint_sha256();
    for (size_t at; (at = offer.find(mine)) != std::string::npos;)
      offer.replace(at, mine.size(), other->fingerprint_sha256());
  });
  advance(std::chrono::milliseconds(20));
  EXPECT_EQ(engine_->metrics().dtls_failures, 1u);
  advance(std::chrono::seconds(1));  // swept: still counted
  EXPECT_EQ(engine_->metrics().dtls_failures, 1u);
  EXPECT_EQ(engine_->metrics().viewers, 0u);
}

}  // namespace
}  // namespace lss::testing
