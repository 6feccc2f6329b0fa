// The SFU engine end to end in process: real ICE checks, DTLS handshakes and
// SRTP between TestPeers and the Engine over a simulated network.
#include "sfu/engine.hpp"

#include <gtest/gtest.h>

#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "test_peer.hpp"

namespace lss::testing {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_cert_ = DtlsCertificate::generate().value();
    client_cert_ = DtlsCertificate::generate().value();
    engine_ = make_engine(server_addr_, 0);
    relay_engine_ = make_engine(relay_addr_, 1);
  }

  // An engine as one media worker, at `addr` on the simulated network.
  std::unique_ptr<sfu::Engine> make_engine(const SocketAddress& addr, uint8_t worker,
                                           sfu::EngineOptions opts = {}) {
    opts.candidates = {{"127.0.0.1", addr.port}};
    opts.worker_index = worker;
    return std::make_unique<sfu::Engine>(
        server_cert_,
        [this, addr](ByteSpan d, const SocketAddress& to) {
          net_.push_back({Bytes(d.begin(), d.end()), addr, to});
        },
        opts);
  }

  // Links stream `name` on engine_ to a relay on relay_engine_, as the
  // worker pool does for a viewer placed on another worker.
  void relay(const std::string& name) {
    auto link = std::make_shared<sfu::RelayLink>([this] { relay_woken_ = true; });
    auto source = engine_->attach_relay(name, link);
    ASSERT_TRUE(source);
    ASSERT_TRUE(relay_engine_->add_relay(name, std::move(*source), link));
  }

  std::unique_ptr<TestPeer> make_peer(uint16_t port) {
    return std::make_unique<TestPeer>(SocketAddress::ipv4(0x7f000001, port), client_cert_);
  }

  // Delivers queued datagrams until the network is quiet.
  void pump() {
    for (int guard = 0; guard < 10000 && !net_.empty(); ++guard) {
      Datagram d = std::move(net_.front());
      net_.pop_front();
      if (drop_ && drop_(d)) continue;
      if (d.to == server_addr_) {
        engine_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
      } else if (d.to == relay_addr_) {
        relay_engine_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
      } else {
        for (TestPeer* p : peers_) {
          if (p->address() == d.to) p->receive(d, net_, now_);
        }
      }
      if (std::exchange(relay_woken_, false)) relay_engine_->drain_relays(now_);
    }
  }

  void advance(Duration d) {
    now_ += d;
    engine_->tick(now_);
    relay_engine_->tick(now_);
    pump();
  }

  // Completes ICE + DTLS of `peer` with the engine's answer `r`: the
  // session, or nullopt when the engine refused.
  std::optional<sfu::SessionCreated> complete(TestPeer& peer,
                                              std::variant<sfu::SessionCreated, sfu::Failure> r) {
    peers_.push_back(&peer);
    auto* created = std::get_if<sfu::SessionCreated>(&r);
    if (!created) {
      ADD_FAILURE() << "session refused: " << std::get<sfu::Failure>(r).reason;
      return std::nullopt;
    }
    EXPECT_TRUE(peer.set_answer(created->answer_sdp));
    peer.send_check(net_);
    pump();
    for (int i = 0; i < 5 && !peer.connected(); ++i) advance(std::chrono::milliseconds(20));
    EXPECT_TRUE(peer.connected());
    return *created;
  }

  // POSTs an offer and completes ICE + DTLS; returns the session id.
  // `max_layer`: a viewer's ceiling (WHEP ?maxLayer=).
  std::string connect(TestPeer& peer, bool publisher, const std::string& stream,
                      sfu::Engine* engine = nullptr, int max_layer = -1) {
    if (!engine) engine = engine_.get();
    auto sd = sdp::parse_sdp(peer.offer(publisher));
    EXPECT_TRUE(sd.ok());
    auto created =
        complete(peer, publisher ? engine->publish(stream, sd.value(), now_)
                                 : engine->subscribe(stream, sd.value(), now_, "", max_layer));
    return created ? created->session_id : std::string();
  }

  // A simulcast publisher (rids q, h, f on SSRCs 1111/2222 and up).
  std::optional<sfu::SessionCreated> publish_simulcast(TestPeer& pub, const std::string& stream) {
    return complete(
        pub,
        engine_->publish(stream, sdp::parse_sdp(pub.offer(true, 1111, 2222, true)).value(), now_));
  }

  static std::vector<RtcpPacket> parse_rtcp(const std::vector<Bytes>& in) {
    std::vector<RtcpPacket> out;
    for (const auto& b : in) for_each_rtcp(b, [&](const RtcpPacket& p) { out.push_back(p); });
    return out;
  }
  template <typename T>
  static size_t count(const std::vector<RtcpPacket>& v) {
    size_t n = 0;
    for (const auto& p : v) n += std::holds_alternative<T>(p);
    return n;
  }

  const SocketAddress server_addr_ = SocketAddress::ipv4(0x7f000001, 40000);
  const SocketAddress relay_addr_ = SocketAddress::ipv4(0x7f000001, 40001);
  std::shared_ptr<DtlsCertificate> server_cert_, client_cert_;
  std::deque<Datagram> net_;  // before the engines: they send DTLS closes as they go
  std::unique_ptr<sfu::Engine> engine_;
  std::unique_ptr<sfu::Engine> relay_engine_;  // a second media worker
  bool relay_woken_ = false;
  std::vector<TestPeer*> peers_;
  std::function<bool(const Datagram&)> drop_;  // simulated loss
  Timestamp now_ = Clock::now();
};

TEST_F(EngineTest, ForwardsMediaToViewersStartingAtAKeyframe) {
  auto pub = make_peer(5000), v1 = make_peer(5001), v2 = make_peer(5002);
  connect(*pub, true, "cam");
  connect(*v1, false, "cam");
  connect(*v2, false, "cam");
  ASSERT_EQ(engine_->streams().size(), 1u);
  EXPECT_EQ(engine_->streams()[0].viewers, 2u);
  EXPECT_EQ(engine_->streams()[0].video_codec, "VP8");

  pub->send_rtp(make_vp8_packet(2222, 10, 900, false), net_);  // delta before any keyframe
  for (uint16_t seq = 11; seq < 20; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 1800, seq == 11), net_);
  pump();
  for (TestPeer* v : {v1.get(), v2.get()}) {
    ASSERT_EQ(v->rtp_in.size(), 9u);  // the leading delta frame is skipped
    RtpPacket first;
    ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), first));
    EXPECT_EQ(first.sequence_number(), 11);
    EXPECT_NE(first.ssrc(), 2222u);  // the stream's own outbound SSRC
    EXPECT_EQ(first.payload_type(), 96);
    EXPECT_EQ(first.payload()[1], 0x50);  // payload untouched
  }
}

TEST_F(EngineTest, InABatchEachViewerGetsItsPacketsTogetherWhenTheBatchEnds) {
  auto pub = make_peer(5000), v1 = make_peer(5001), v2 = make_peer(5002);
  const std::string publisher = connect(*pub, true, "cam");
  connect(*v1, false, "cam");
  connect(*v2, false, "cam");
  for (uint16_t seq = 11; seq < 20; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 1800, seq == 11), net_);
  // One receive batch of the worker: the datagrams stay where they are
  // until the batch ends, as a receive buffer does.
  std::vector<Datagram> batch(std::make_move_iterator(net_.begin()),
                              std::make_move_iterator(net_.end()));
  net_.clear();
  engine_->begin_batch();
  for (auto& d : batch) engine_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
  EXPECT_TRUE(net_.empty()) << "nothing goes out before the batch ends";
  engine_->end_batch();
  ASSERT_EQ(net_.size(), 18u);
  for (size_t i = 0; i < net_.size(); ++i) {
    EXPECT_EQ(net_[i].to, i < 9 ? v1->address() : v2->address()) << i;
  }
  pump();
  for (TestPeer* v : {v1.get(), v2.get()}) {
    ASSERT_EQ(v->rtp_in.size(), 9u);
    for (size_t i = 0; i < 9; ++i) {
      RtpPacket p;
      ASSERT_TRUE(RtpPacket::parse(v->rtp_in[i].data(), v->rtp_in[i].size(), p));
      EXPECT_EQ(p.sequence_number(), 11 + i);
    }
  }
  // A stream that ends inside a batch sends what it held first, and a batch
  // that ends after it is gone is harmless.
  for (uint16_t seq = 20; seq < 23; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 2700, false), net_);
  batch.assign(std::make_move_iterator(net_.begin()), std::make_move_iterator(net_.end()));
  net_.clear();
  engine_->begin_batch();
  for (auto& d : batch) engine_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
  EXPECT_TRUE(engine_->end_session("cam", publisher, true, "ended inside a batch"));
  engine_->end_batch();
  pump();
  EXPECT_EQ(v1->rtp_in.size(), 12u);
  EXPECT_EQ(v2->rtp_in.size(), 12u);
}

TEST_F(EngineTest, NacksAreAnsweredOnRtxOnceARoundTripAndMissesStayHere) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  // The viewer loses the 4th and 6th packets on the way.
  int to_viewer = 0;
  drop_ = [&](const Datagram& d) {
    if (d.to != v->address() || d.data.size() < 100) return false;
    ++to_viewer;
    return to_viewer == 4 || to_viewer == 6;
  };
  for (uint16_t seq = 100; seq < 110; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 3000, seq == 100), net_);
  pump();
  drop_ = nullptr;
  ASSERT_EQ(v->rtp_in.size(), 8u);
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), pkt));
  const uint32_t out_ssrc = pkt.ssrc();
  const Bytes original_103 = v->rtp_in[2];  // what 103 looked like (102 was third)

  pub->rtcp_in.clear();
  auto nack = [&](std::vector<uint16_t> seqs) {
    Bytes b;
    build_nack(Nack{77, out_ssrc, std::move(seqs)}, b);
    v->send_rtp(b, net_, true);
    pump();
  };
  nack({103, 105, 500});
  ASSERT_EQ(v->rtp_in.size(), 10u);  // 103 and 105 resent; 500 was never cached
  // RFC 4588: on the RTX payload type and SSRC, the original sequence number first.
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[8].data(), v->rtp_in[8].size(), pkt));
  EXPECT_EQ(pkt.payload_type(), 97);
  EXPECT_NE(pkt.ssrc(), out_ssrc);
  const uint32_t rtx_ssrc = pkt.ssrc();
  const uint16_t rtx_seq = pkt.sequence_number();
  ASSERT_GE(pkt.payload().size(), 2u);
  EXPECT_EQ(load_be16(pkt.payload().data()), 103);
  RtpPacket media;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[1].data(), v->rtp_in[1].size(), media));
  EXPECT_EQ(pkt.payload().size(), media.payload().size() + 2);
  EXPECT_EQ(pkt.payload()[2], media.payload()[0]);
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[9].data(), v->rtp_in[9].size(), pkt));
  EXPECT_EQ(load_be16(pkt.payload().data()), 105);
  EXPECT_EQ(pkt.sequence_number(), uint16_t(rtx_seq + 1));
  // Misses are not asked of the publisher.
  EXPECT_EQ(count<Nack>(parse_rtcp(pub->rtcp_in)), 0u);

  // Asked again at once, while the resend may still be on its way: held off.
  nack({103});
  EXPECT_EQ(v->rtp_in.size(), 10u);
  // A round trip later (100 ms until one is measured), it goes again.
  advance(std::chrono::milliseconds(150));
  const size_t before = v->rtp_in.size();
  nack({103});
  ASSERT_EQ(v->rtp_in.size(), before + 1);
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));
  EXPECT_EQ(pkt.ssrc(), rtx_ssrc);
  EXPECT_EQ(load_be16(pkt.payload().data()), 103);
  (void)original_103;
}

TEST_F(EngineTest, ViewerWithoutRtxGetsRepairsOnTheMediaSsrc) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  peers_.push_back(v.get());
  std::string offer = v->offer(false);
  offer.replace(offer.find("m=video 9 UDP/TLS/RTP/SAVPF 96 97"), 33,
                "m=video 9 UDP/TLS/RTP/SAVPF 96");
  const std::string rtx = "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n";
  offer.erase(offer.find(rtx), rtx.size());
  auto r = engine_->subscribe("cam", sdp::parse_sdp(offer).value(), now_);
  auto* created = std::get_if<sfu::SessionCreated>(&r);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->answer_sdp.find("rtx"), std::string::npos);
  ASSERT_TRUE(v->set_answer(created->answer_sdp));
  v->send_check(net_);
  pump();
  for (int i = 0; i < 5 && !v->connected(); ++i) advance(std::chrono::milliseconds(20));
  ASSERT_TRUE(v->connected());
  drop_ = [&](const Datagram& d) {  // SRTP leaves the RTP header in the clear
    return d.to == v->address() && d.data.size() > 100 && load_be16(d.data.data() + 2) == 102;
  };
  for (uint16_t seq = 100; seq < 105; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 3000, seq == 100), net_);
  pump();
  drop_ = nullptr;
  ASSERT_EQ(v->rtp_in.size(), 4u);
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), pkt));
  const uint32_t media_ssrc = pkt.ssrc();
  Bytes b;
  build_nack(Nack{77, media_ssrc, {102}}, b);
  v->send_rtp(b, net_, true);
  pump();
  ASSERT_EQ(v->rtp_in.size(), 5u);
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[4].data(), v->rtp_in[4].size(), pkt));
  EXPECT_EQ(pkt.ssrc(), media_ssrc);
  EXPECT_EQ(pkt.sequence_number(), 102);
  EXPECT_EQ(pkt.payload_type(), 96);
}

TEST_F(EngineTest, PublisherRepeatsAreNotForwarded) {
  // libwebrtc probes bandwidth by resending old packets on RTX: viewers must
  // not get copies they never asked for.
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  for (uint16_t seq = 100; seq < 105; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 3000, seq == 100), net_);
  pub->send_rtp(make_vp8_packet(2222, 102, 3000, false), net_);  // a plain duplicate
  pump();
  EXPECT_EQ(v->rtp_in.size(), 5u);
}

// Simulcast: three layers of a publisher, told apart by their rid. The
// viewer starts on the fastest, moves down when its REMB says so (at a
// keyframe of the new layer, with no gap in its numbering), and its NACKs
// are served from the layer each packet came from.
// With EngineOptions::send_at (PACING=true), a viewer with an estimate gets
// the head of a burst at once and the rest at its pacer's times: in order,
// spread at 2.5x its estimate, none later than 80 ms; delivered then, every
// packet arrives, in sequence.
TEST_F(EngineTest, APacedViewerGetsABurstSpreadAndWhole) {
  struct Held {
    Datagram d;
    Timestamp release;
  };
  std::vector<Held> held;
  sfu::EngineOptions opts;
  opts.send_at = [&held, this](ByteSpan d, const SocketAddress& to, Timestamp release, uint32_t) {
    held.push_back({{Bytes(d.begin(), d.end()), server_addr_, to}, release});
  };
  engine_ = make_engine(server_addr_, 0, opts);
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  // Its REMB says 100 kbit/s: paced at 250 kbit/s, a 112-byte packet every
  // 3.6 ms once the first 5 ms have gone.
  pub->send_rtp(make_vp8_packet(2222, 1, 900, true), net_);
  pump();
  Bytes remb;
  build_remb(Remb{77, 100'000, {}}, remb);
  v->send_rtp(remb, net_, true);
  pump();
  advance(std::chrono::milliseconds(100));  // the tick sets the pacing rate
  v->rtp_in.clear();
  held.clear();
  const Timestamp burst_at = now_;
  for (uint16_t seq = 2; seq < 32; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 1800, seq == 2), net_);
  pump();
  const size_t at_once = v->rtp_in.size();
  EXPECT_GE(at_once, 1u);
  EXPECT_LE(at_once, 3u);
  ASSERT_EQ(at_once + held.size(), 30u);
  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_GT(held[i].release, burst_at);
    EXPECT_LE(held[i].release - burst_at, std::chrono::milliseconds(80));
    if (i > 0) {
      EXPECT_GE(held[i].release, held[i - 1].release);
    }
  }
  const auto spread =
      std::chrono::duration<double, std::milli>(held[5].release - held[4].release).count();
  EXPECT_NEAR(spread, 3.6, 0.5);
  // Audio is not held behind the video: it goes at once.
  const size_t held_video = held.size();
  auto first_ones = std::move(v->rtp_in);
  v->rtp_in.clear();
  for (uint16_t seq = 1; seq <= 3; ++seq)
    pub->send_rtp(make_vp8_packet(1111, seq, 960 * seq, false, 111), net_);
  pump();
  EXPECT_EQ(held.size(), held_video);
  ASSERT_EQ(v->rtp_in.size(), 3u);
  for (Bytes& b : v->rtp_in) {
    RtpPacket p;
    ASSERT_TRUE(RtpPacket::parse(b.data(), b.size(), p));
    EXPECT_EQ(p.payload_type(), 111);
  }
  v->rtp_in = std::move(first_ones);
  // The network delivers them at their times: all 30, in order.
  for (auto& h : held) net_.push_back(std::move(h.d));
  pump();
  ASSERT_EQ(v->rtp_in.size(), 30u);
  uint16_t prev = 0;
  for (size_t i = 0; i < v->rtp_in.size(); ++i) {
    RtpPacket p;
    ASSERT_TRUE(RtpPacket::parse(v->rtp_in[i].data(), v->rtp_in[i].size(), p));
    if (i > 0) EXPECT_EQ(p.sequence_number(), uint16_t(prev + 1));
    prev = p.sequence_number();
  }
}

TEST_F(EngineTest, SimulcastViewerFollowsTheLayerItsEstimateCarries) {
  auto pub = make_peer(5000), v = make_peer(5001);
  auto created = publish_simulcast(*pub, "cam");
  ASSERT_TRUE(created);
  EXPECT_NE(created->answer_sdp.find("a=simulcast:recv q;h;f"), std::string::npos);
  ASSERT_TRUE(pub->connected());
  connect(*v, false, "cam");
  struct Layer {
    const char* rid;
    uint32_t ssrc;
    size_t size;
    uint8_t fill;
    uint16_t seq;
  };
  // 80, 320 and 800 kbps at one packet per 10 ms each.
  Layer layers[] = {
      {"q", 100, 100, 0xa1, 1000}, {"h", 200, 400, 0xa2, 5000}, {"f", 300, 1000, 0xa3, 9000}};
  uint32_t ts = 0;
  auto send_all = [&](int ms, const char* keyframe_rid = nullptr) {
    for (int t = 0; t < ms; t += 10) {
      for (auto& l : layers) {
        const bool key = keyframe_rid && std::string(keyframe_rid) == l.rid && t == 0;
        pub->send_rtp(make_vp8_layer_packet(l.ssrc, l.seq++, ts, key, l.rid, l.size, l.fill), net_);
      }
      ts += 900;
      advance(std::chrono::milliseconds(10));
    }
  };
  auto fill_of = [](const Bytes& b) {
    RtpPacket p;
    EXPECT_TRUE(RtpPacket::parse(const_cast<uint8_t*>(b.data()), b.size(), p));
    return p.payload().back();
  };
  // Keyframes on every layer to begin with, then a second of media.
  for (auto* rid : {"q", "h", "f"}) send_all(10, rid);
  send_all(700);
  send_all(10, "f");
  send_all(300);
  ASSERT_FALSE(v->rtp_in.empty());
  EXPECT_EQ(fill_of(v->rtp_in.back()), 0xa3) << "starts on the fastest layer";
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));
  const uint32_t out_ssrc = pkt.ssrc();
  EXPECT_NE(out_ssrc, 300u);

  // The viewer's path carries 150 kbps: after its REMB, the next keyframe
  // of q (asked for with a PLI on q's SSRC) moves it there.
  pub->rtcp_in.clear();
  Bytes remb;
  build_remb(Remb{77, 150'000, {out_ssrc}}, remb);
  v->send_rtp(remb, net_, true);
  pump();
  send_all(300);
  bool asked_q = false;
  for (const auto& p : parse_rtcp(pub->rtcp_in)) {
    if (auto* pli = std::get_if<Pli>(&p)) asked_q |= pli->media_ssrc == 100;
  }
  EXPECT_TRUE(asked_q) << "a keyframe of the layer it moves to is asked for";
  const size_t before = v->rtp_in.size();
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));
  const uint16_t last_seq = pkt.sequence_number();
  send_all(10, "q");
  send_all(100);
  ASSERT_GT(v->rtp_in.size(), before);
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[before].data(), v->rtp_in[before].size(), pkt));
  EXPECT_EQ(fill_of(v->rtp_in[before]), 0xa1);
  EXPECT_EQ(pkt.sequence_number(), uint16_t(last_seq + 1)) << "no gap at the switch";
  EXPECT_EQ(pkt.ssrc(), out_ssrc);
  EXPECT_EQ(fill_of(v->rtp_in.back()), 0xa1);

  // A NACK for a packet it got from q is served from q's cache.
  const uint16_t asked = uint16_t(last_seq + 3);
  Bytes nack;
  build_nack(Nack{77, out_ssrc, {asked}}, nack);
  const size_t n = v->rtp_in.size();
  v->send_rtp(nack, net_, true);
  pump();
  ASSERT_EQ(v->rtp_in.size(), n + 1);
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));
  EXPECT_EQ(pkt.payload_type(), 97);  // RTX
  EXPECT_EQ(load_be16(pkt.payload().data()), asked);
  EXPECT_EQ(pkt.payload().back(), 0xa1);
  auto stats = engine_->viewer_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].layers, 3);
  EXPECT_EQ(stats[0].layer, 0);
  EXPECT_EQ(stats[0].remb_bps, 150'000u);
  EXPECT_GE(stats[0].layer_switches, 1u);
}

// A small player's ceiling (WHEP ?maxLayer=1): the second-slowest layer at
// most, whatever its estimate; the others still start on the top.
TEST_F(EngineTest, AViewersMaxLayerCapsItsLayer) {
  auto pub = make_peer(5000), capped = make_peer(5001), free_viewer = make_peer(5002);
  ASSERT_TRUE(publish_simulcast(*pub, "cam"));
  ASSERT_TRUE(pub->connected());
  ASSERT_FALSE(connect(*capped, false, "cam", nullptr, 1).empty());
  ASSERT_TRUE(capped->connected());
  connect(*free_viewer, false, "cam");
  // The rids in an order unlike their rates: the ceiling goes by rate.
  struct Layer {
    const char* rid;
    uint32_t ssrc;
    size_t size;
    uint8_t fill;
    uint16_t seq;
  };
  Layer layers[] = {
      {"q", 100, 1000, 0xa3, 1000}, {"h", 200, 100, 0xa1, 5000}, {"f", 300, 400, 0xa2, 9000}};
  uint32_t ts = 0;
  auto send_all = [&](int ms, bool keyframes) {
    for (int t = 0; t < ms; t += 10) {
      for (auto& l : layers)
        pub->send_rtp(
            make_vp8_layer_packet(l.ssrc, l.seq++, ts, keyframes && t == 0, l.rid, l.size, l.fill),
            net_);
      ts += 900;
      advance(std::chrono::milliseconds(10));
    }
  };
  send_all(10, true);
  send_all(700, false);
  send_all(10, true);
  send_all(300, false);
  auto fill_of = [](const Bytes& b) {
    RtpPacket p;
    EXPECT_TRUE(RtpPacket::parse(const_cast<uint8_t*>(b.data()), b.size(), p));
    return p.payload().back();
  };
  ASSERT_FALSE(capped->rtp_in.empty());
  ASSERT_FALSE(free_viewer->rtp_in.empty());
  EXPECT_EQ(fill_of(capped->rtp_in.back()), 0xa2) << "the middle rate (rid f), not the top";
  EXPECT_EQ(fill_of(free_viewer->rtp_in.back()), 0xa3);
}

// VP8 with temporal layers (L1T3): a viewer whose estimate cannot carry the
// whole layer gets its base temporal layer, numbered without gaps.
TEST_F(EngineTest, AViewerShortOfBandwidthLosesUpperTemporalLayersFirst) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  auto packet = [](uint16_t seq, uint32_t ts, uint8_t tid, bool key, uint16_t pid) {
    Bytes p;
    ByteWriter w(p);
    w.u8(0x80);
    w.u8(96);
    w.u16(seq);
    w.u32(ts);
    w.u32(2222);
    w.u8(0x90);  // X, S, PID 0
    w.u8(0xa0);  // I, T
    w.u8(uint8_t(0x80 | (pid >> 8)));
    w.u8(uint8_t(pid));
    w.u8(uint8_t(tid << 6 | (tid > 0 ? 0x20 : 0)));  // TID, Y (layer sync)
    w.u8(key ? 0x50 : 0x51);
    for (int i = 0; i < 600; ++i) w.u8(tid);
    return p;
  };
  const uint8_t pattern[] = {0, 2, 1, 2};
  uint16_t seq = 100, pid = 1;
  uint32_t ts = 0;
  auto send = [&](int frames) {
    for (int f = 0; f < frames; ++f) {
      const uint8_t tid = pattern[pid % 4];
      pub->send_rtp(packet(seq++, ts, tid, pid == 1, pid), net_);
      ++pid;
      ts += 900;
      advance(std::chrono::milliseconds(10));
    }
  };
  send(150);
  ASSERT_FALSE(v->rtp_in.empty());
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));
  const uint32_t out_ssrc = pkt.ssrc();
  // ~500 kbps in all, ~125 kbps in its base layer: a 200 kbps viewer.
  Bytes remb;
  build_remb(Remb{77, 200'000, {out_ssrc}}, remb);
  v->send_rtp(remb, net_, true);
  pump();
  send(50);
  const size_t from = v->rtp_in.size();
  send(100);
  ASSERT_GT(v->rtp_in.size(), from + 10);
  uint16_t last = 0;
  for (size_t i = from; i < v->rtp_in.size(); ++i) {
    ASSERT_TRUE(RtpPacket::parse(v->rtp_in[i].data(), v->rtp_in[i].size(), pkt));
    EXPECT_EQ(pkt.payload().back(), 0) << "only the base temporal layer";
    if (i > from) EXPECT_EQ(pkt.sequence_number(), uint16_t(last + 1)) << "no gaps to NACK";
    last = pkt.sequence_number();
  }
  auto stats = engine_->viewer_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].layer, 0);
  EXPECT_EQ(stats[0].temporal_layer, 0);
  EXPECT_GT(stats[0].dropped_temporal, 50u);
}

TEST_F(EngineTest, AViewersKeyframeRequestsAreThrottled) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  pub->send_rtp(make_vp8_packet(2222, 1, 3000, true), net_);
  pump();
  RtpPacket pkt;
  ASSERT_FALSE(v->rtp_in.empty());
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), pkt));
  advance(std::chrono::seconds(2));
  pub->rtcp_in.clear();
  // A viewer on a lossy link asks every 100 ms for two seconds: the
  // publisher hears of it about once a second, not twenty times.
  for (int i = 0; i < 20; ++i) {
    Bytes pli;
    build_pli(Pli{77, pkt.ssrc()}, pli);
    v->send_rtp(pli, net_, true);
    pump();
    advance(std::chrono::milliseconds(100));
  }
  const size_t plis = count<Pli>(parse_rtcp(pub->rtcp_in));
  EXPECT_GE(plis, 1u);
  EXPECT_LE(plis, 3u);
}

TEST_F(EngineTest, PublisherLossIsNackedUpstreamAndRepaired) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  pub->rtcp_in.clear();
  for (uint16_t seq : {10, 11, 13, 14})
    pub->send_rtp(make_vp8_packet(2222, seq, 900, seq == 10), net_);
  pump();
  advance(std::chrono::milliseconds(20));
  auto upstream = parse_rtcp(pub->rtcp_in);
  std::vector<uint16_t> asked;
  for (const auto& p : upstream) {
    if (auto* n = std::get_if<Nack>(&p)) {
      EXPECT_EQ(n->media_ssrc, 2222u);
      asked.insert(asked.end(), n->lost.begin(), n->lost.end());
    }
  }
  EXPECT_EQ(asked, std::vector<uint16_t>{12});
  // The retransmission arrives: the viewer gets it and nobody asks again.
  pub->send_rtp(make_vp8_packet(2222, 12, 900, false), net_);
  pump();
  pub->rtcp_in.clear();
  advance(std::chrono::milliseconds(100));
  EXPECT_EQ(count<Nack>(parse_rtcp(pub->rtcp_in)), 0u);
  EXPECT_EQ(v->rtp_in.size(), 5u);
}

TEST_F(EngineTest, KeyframeRequestsAreMergedAndThrottled) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  pub->send_rtp(make_vp8_packet(2222, 1, 0, true), net_);
  pump();
  advance(std::chrono::seconds(1));  // let the join request go out
  pub->rtcp_in.clear();
  RtpPacket pkt;
  ASSERT_FALSE(v->rtp_in.empty());
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in[0].data(), v->rtp_in[0].size(), pkt));
  for (int i = 0; i < 5; ++i) {
    Bytes pli;
    build_pli(Pli{77, pkt.ssrc()}, pli);
    v->send_rtp(pli, net_, true);
  }
  pump();
  advance(std::chrono::milliseconds(20));
  advance(std::chrono::milliseconds(20));
  auto upstream = parse_rtcp(pub->rtcp_in);
  EXPECT_EQ(count<Pli>(upstream), 1u);
  for (const auto& p : upstream) {
    if (auto* pli = std::get_if<Pli>(&p)) {
      EXPECT_EQ(pli->media_ssrc, 2222u);
    }
  }
}

TEST_F(EngineTest, PublisherEndClosesViewersAndFreesTheName) {
  auto pub = make_peer(5000), v = make_peer(5001);
  const std::string id = connect(*pub, true, "cam");
  connect(*v, false, "cam");
  EXPECT_FALSE(engine_->end_session("cam", "wrong", true));
  EXPECT_TRUE(engine_->end_session("cam", id, true));
  pump();
  EXPECT_EQ(v->dtls().state(), DtlsTransport::State::kClosed);
  EXPECT_EQ(pub->dtls().state(), DtlsTransport::State::kClosed);
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(engine_->streams().empty());
  auto again = make_peer(5003);
  EXPECT_FALSE(connect(*again, true, "cam").empty());
}

// The admin API's view: every session with its role, media address, codecs
// and rate; found and ended by id alone, with the operator's reason.
TEST_F(EngineTest, SessionsListsPublishersAndViewersAndEndsThemById) {
  auto pub = make_peer(5000), v = make_peer(5001);
  const std::string pub_id = connect(*pub, true, "cam");
  const std::string viewer_id = connect(*v, false, "cam");
  for (uint16_t seq = 1; seq < 20; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 1800 * seq, seq == 1), net_);
  pump();
  const auto list = engine_->sessions(now_);
  ASSERT_EQ(list.size(), 2u);
  const sfu::SessionSummary& p = list[0].publisher ? list[0] : list[1];
  const sfu::SessionSummary& w = list[0].publisher ? list[1] : list[0];
  EXPECT_TRUE(p.publisher);
  EXPECT_EQ(p.session_id, pub_id);
  EXPECT_EQ(p.stream, "cam");
  EXPECT_EQ(p.remote, "127.0.0.1:5000");
  EXPECT_EQ(p.transport, "udp");
  EXPECT_EQ(p.video_codec, "VP8");
  EXPECT_GT(p.bitrate_bps, 0u);
  EXPECT_FALSE(p.since.empty());
  EXPECT_FALSE(w.publisher);
  EXPECT_EQ(w.session_id, viewer_id);
  EXPECT_EQ(w.stream_id, pub_id);
  EXPECT_EQ(w.remote, "127.0.0.1:5001");
  EXPECT_TRUE(w.connected);
  EXPECT_EQ(w.video_codec, "VP8");
  EXPECT_GT(w.bitrate_bps, 0u);

  auto ref = engine_->find_session(viewer_id);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->stream, "cam");
  EXPECT_FALSE(ref->publisher);
  EXPECT_FALSE(engine_->find_session("00nonexistent"));
  EXPECT_TRUE(engine_->end_session(ref->stream, viewer_id, false, "ended by an admin"));
  pump();
  EXPECT_EQ(v->dtls().state(), DtlsTransport::State::kClosed);
  EXPECT_FALSE(engine_->find_session(viewer_id));
  ASSERT_EQ(engine_->sessions(now_).size(), 1u);
  ref = engine_->find_session(pub_id);
  ASSERT_TRUE(ref);
  EXPECT_TRUE(ref->publisher);
}

// Limits: past MAX_PEERS_PER_WORKER, MAX_STREAMS (across engines) or
// MAX_VIEWERS_PER_STREAM a new session is refused with 503; an ended
// stream frees its place.
TEST_F(EngineTest, LimitsRefuseWith503) {
  sfu::EngineOptions opts;
  opts.candidates = {{"127.0.0.1", server_addr_.port}};
  opts.max_streams = 1;
  opts.max_viewers_per_stream = 1;
  engine_ = std::make_unique<sfu::Engine>(
      server_cert_,
      [this](ByteSpan d, const SocketAddress& to) {
        net_.push_back({Bytes(d.begin(), d.end()), server_addr_, to});
      },
      opts);
  auto pub = make_peer(5000), v1 = make_peer(5001);
  const std::string id = connect(*pub, true, "cam");
  connect(*v1, false, "cam");
  auto second_viewer =
      engine_->subscribe("cam", sdp::parse_sdp(make_peer(5002)->offer(false)).value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(second_viewer));
  EXPECT_EQ(std::get<sfu::Failure>(second_viewer).status, 503);
  EXPECT_NE(std::get<sfu::Failure>(second_viewer).reason.find("1 viewers"), std::string::npos);
  auto second_stream =
      engine_->publish("cam2", sdp::parse_sdp(make_peer(5003)->offer(true)).value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(second_stream));
  EXPECT_EQ(std::get<sfu::Failure>(second_stream).status, 503);
  EXPECT_EQ(opts.live_streams->load(), 1u);
  ASSERT_TRUE(engine_->end_session("cam", id, true));
  advance(std::chrono::milliseconds(20));
  EXPECT_EQ(opts.live_streams->load(), 0u);
  auto pub2 = make_peer(5004);
  EXPECT_FALSE(connect(*pub2, true, "cam2").empty());

  // Peers per engine: the publisher and one viewer fill two places.
  sfu::EngineOptions small;
  small.candidates = opts.candidates;
  small.max_peers = 1;
  sfu::Engine tiny(
      server_cert_, [](ByteSpan, const SocketAddress&) {}, small);
  EXPECT_TRUE(std::holds_alternative<sfu::SessionCreated>(
      tiny.publish("a", sdp::parse_sdp(make_peer(5005)->offer(true)).value(), now_)));
  auto refused = tiny.subscribe("a", sdp::parse_sdp(make_peer(5006)->offer(false)).value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(refused));
  EXPECT_EQ(std::get<sfu::Failure>(refused).status, 503);
}

// A session keeps what the front end gave it to hold (its address's
// SESSIONS_PER_IP slot) until its peer goes, however it ends: DELETE (at
// once), its stream ending, consent timeout; a refusal drops it at once.
TEST_F(EngineTest, ASessionKeepsItsHoldUntilItsPeerGoes) {
  auto held = [] { return std::make_shared<int>(0); };
  auto pub = make_peer(5000), v1 = make_peer(5001), v2 = make_peer(5002);
  auto pub_hold = held(), v1_hold = held(), v2_hold = held();
  std::weak_ptr<int> pub_w = pub_hold, v1_w = v1_hold, v2_w = v2_hold;
  const auto created =
      complete(*pub, engine_->publish("cam", sdp::parse_sdp(pub->offer(true)).value(), now_, "",
                                      std::move(pub_hold)));
  ASSERT_TRUE(created);
  const auto viewer =
      complete(*v1, engine_->subscribe("cam", sdp::parse_sdp(v1->offer(false)).value(), now_, "",
                                       -1, std::move(v1_hold)));
  ASSERT_TRUE(viewer);
  complete(*v2, engine_->subscribe("cam", sdp::parse_sdp(v2->offer(false)).value(), now_, "", -1,
                                   std::move(v2_hold)));
  advance(std::chrono::seconds(1));
  EXPECT_FALSE(pub_w.expired() || v1_w.expired() || v2_w.expired());

  // A viewer's DELETE gives its hold back at once, before the next tick.
  ASSERT_TRUE(engine_->end_session("cam", viewer->session_id, false));
  EXPECT_TRUE(v1_w.expired());
  EXPECT_FALSE(v2_w.expired());
  // A refused offer (no such stream) drops its hold with the refusal.
  auto refused_hold = held();
  std::weak_ptr<int> refused_w = refused_hold;
  auto refused = engine_->subscribe("nope", sdp::parse_sdp(make_peer(5004)->offer(false)).value(),
                                    now_, "", -1, std::move(refused_hold));
  EXPECT_TRUE(std::holds_alternative<sfu::Failure>(refused));
  EXPECT_TRUE(refused_w.expired());
  // The publisher's DELETE: its own at once, its viewers' as they are closed.
  ASSERT_TRUE(engine_->end_session("cam", created->session_id, true));
  EXPECT_TRUE(pub_w.expired());
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(v2_w.expired());

  // A session that never connects ends at the consent timeout, and its
  // hold with it.
  auto pub2 = make_peer(5005);
  auto silent_hold = held();
  std::weak_ptr<int> silent_w = silent_hold;
  auto silent = engine_->publish("quiet", sdp::parse_sdp(pub2->offer(true)).value(), now_, "",
                                 std::move(silent_hold));
  ASSERT_TRUE(std::holds_alternative<sfu::SessionCreated>(silent));
  EXPECT_FALSE(silent_w.expired());
  for (int i = 0; i < 20; ++i) advance(std::chrono::seconds(1));
  EXPECT_TRUE(silent_w.expired());
}

TEST_F(EngineTest, RefusesWithTheRightStatus) {
  auto pub = make_peer(5000);
  connect(*pub, true, "cam");
  auto sd = sdp::parse_sdp(make_peer(5001)->offer(true)).value();
  auto r = engine_->publish("cam", sd, now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(r));
  EXPECT_EQ(std::get<sfu::Failure>(r).status, 409);
  auto viewer = sdp::parse_sdp(make_peer(5002)->offer(false)).value();
  r = engine_->subscribe("nope", viewer, now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(r));
  EXPECT_EQ(std::get<sfu::Failure>(r).status, 404);
  // A viewer that offers only H264 cannot watch a VP8 stream.
  std::string h264_only = make_peer(5003)->offer(false);
  const size_t at = h264_only.find("a=rtpmap:96 VP8/90000");
  h264_only.replace(
      at, 21, "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f");
  r = engine_->subscribe("cam", sdp::parse_sdp(h264_only).value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::Failure>(r));
  EXPECT_EQ(std::get<sfu::Failure>(r).status, 406);
  EXPECT_NE(std::get<sfu::Failure>(r).reason.find("VP8"), std::string::npos);
}

TEST_F(EngineTest, ConsentTimeoutEndsThePublisher) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  advance(std::chrono::seconds(10));
  EXPECT_EQ(engine_->streams().size(), 1u);
  advance(std::chrono::seconds(6));  // 16 s without a check from either
  EXPECT_TRUE(engine_->streams().empty());
  EXPECT_EQ(v->dtls().state(), DtlsTransport::State::kClosed);
}

TEST_F(EngineTest, GarbageFromAnywhereIsIgnored) {
  auto pub = make_peer(5000);
  connect(*pub, true, "cam");
  uint8_t buf[256];
  for (int i = 0; i < 2000; ++i) {
    const size_t n = random_u32() % sizeof buf;
    for (size_t k = 0; k < n; ++k) buf[k] = uint8_t(random_u32());
    if (n > 0 && i % 4 == 0) buf[0] = uint8_t(i % 4 == 0 ? 0x00 : 0x80);
    engine_->handle_datagram(buf, n, i % 2 ? pub->address() : SocketAddress::ipv4(0x0a000001, 9),
                             now_);
  }
  pump();
  EXPECT_EQ(engine_->streams().size(), 1u);
}

// A peer that begins its DTLS handshake on one pair and meanwhile nominates
// another (Firefox moving from UDP to ICE-TCP) may send a flight on either:
// DTLS from an address a valid check came from is taken, and answered there.
TEST_F(EngineTest, DtlsFromAnotherValidatedAddressIsAnsweredThere) {
  auto peer = make_peer(5000);
  const SocketAddress a = peer->address(), b = SocketAddress::ipv4(0x7f000001, 5001);
  peers_.push_back(peer.get());
  auto r = engine_->publish("moving", sdp::parse_sdp(peer->offer(true)).value(), now_);
  auto* created = std::get_if<sfu::SessionCreated>(&r);
  ASSERT_NE(created, nullptr);
  ASSERT_TRUE(peer->set_answer(created->answer_sdp));
  // The check from a is answered; the ClientHello it sets off is held back.
  std::deque<Datagram> held;
  drop_ = [&](const Datagram& d) {
    const bool dtls_from_a = !d.data.empty() && d.data[0] >= 20 && d.data[0] <= 63 && d.from == a;
    if (dtls_from_a) held.push_back(d);
    return dtls_from_a;
  };
  peer->send_check(net_);
  pump();
  ASSERT_EQ(held.size(), 1u);
  // The peer nominates b; then its ClientHello arrives, from a.
  drop_ = nullptr;
  peer->set_address(b);
  peer->send_check(net_);
  pump();
  peer->set_address(a);
  for (auto& d : held) net_.push_back(std::move(d));
  pump();
  for (int i = 0; i < 5 && !peer->connected(); ++i) advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(peer->connected());
  EXPECT_EQ(engine_->streams().size(), 1u);
}

// The server as offerer (a PeerJS streamer call) taking over a live stream:
// viewers see one continuous track across the switch.
TEST_F(EngineTest, APulledSourceTakesOverALiveStreamAtItsKeyframe) {
  auto old_pub = make_peer(5000), viewer = make_peer(5001), new_pub = make_peer(5002);
  const std::string session = connect(*old_pub, true, "cam");
  connect(*viewer, false, "cam");
  for (uint16_t seq = 10; seq < 20; ++seq)
    old_pub->send_rtp(make_vp8_packet(2222, seq, 1800 + seq, seq == 10), net_);
  pump();
  ASSERT_EQ(viewer->rtp_in.size(), 10u);
  RtpPacket last;
  ASSERT_TRUE(RtpPacket::parse(viewer->rtp_in.back().data(), viewer->rtp_in.back().size(), last));
  const uint32_t out_ssrc = last.ssrc();

  // A new call to a source for the live stream.
  auto offered = engine_->prepare_pull("cam", now_, true);
  ASSERT_TRUE(std::holds_alternative<sfu::PullOffered>(offered));
  const auto& offer = std::get<sfu::PullOffered>(offered);
  EXPECT_NE(offer.offer_sdp.find("a=setup:actpass"), std::string::npos);
  // Its answer: sendonly Opus + VP8 on mids 0 and 1 (an offer-shaped SDP
  // with actpass reads as "we are the DTLS server", like a=setup:active).
  auto answer = sdp::parse_sdp(new_pub->offer(true, 4444, 3333));
  ASSERT_TRUE(answer.ok());
  auto done = engine_->complete_pull(offer.session_id, answer.value(), now_);
  ASSERT_TRUE(std::holds_alternative<sfu::SessionCreated>(done));
  EXPECT_EQ(std::get<sfu::SessionCreated>(done).session_id, session);  // the same stream
  peers_.push_back(new_pub.get());
  ASSERT_TRUE(new_pub->set_answer(offer.offer_sdp));
  new_pub->send_check(net_);
  pump();
  for (int i = 0; i < 5 && !new_pub->connected(); ++i) advance(std::chrono::milliseconds(20));
  ASSERT_TRUE(new_pub->connected());

  // Until the new source's keyframe, the old one goes on.
  new_pub->send_rtp(make_vp8_packet(3333, 500, 90000, false), net_);
  old_pub->send_rtp(make_vp8_packet(2222, 20, 1820, false), net_);
  pump();
  ASSERT_EQ(viewer->rtp_in.size(), 11u);
  advance(std::chrono::milliseconds(100));
  new_pub->send_rtp(make_vp8_packet(3333, 501, 99000, true), net_);
  new_pub->send_rtp(make_vp8_packet(3333, 502, 99000, false), net_);
  old_pub->send_rtp(make_vp8_packet(2222, 21, 1821, false), net_);  // retired: ignored
  pump();
  ASSERT_EQ(viewer->rtp_in.size(), 13u);
  RtpPacket a, b;
  ASSERT_TRUE(RtpPacket::parse(viewer->rtp_in[11].data(), viewer->rtp_in[11].size(), a));
  ASSERT_TRUE(RtpPacket::parse(viewer->rtp_in[12].data(), viewer->rtp_in[12].size(), b));
  EXPECT_EQ(a.ssrc(), out_ssrc);
  EXPECT_EQ(a.sequence_number(), 21);  // continues from the old source's 20
  EXPECT_EQ(b.sequence_number(), 22);
  EXPECT_GT(a.timestamp(), 1820u);  // moves on by the time that passed
  EXPECT_LT(a.timestamp(), 1820u + 90000u);
  EXPECT_EQ(a.payload()[1], 0x50);  // the keyframe
  EXPECT_EQ(engine_->streams().size(), 1u);
  // The stream now ends with its new source.
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(engine_->end_session("cam", session, true));
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(engine_->streams().empty());
}

TEST_F(EngineTest, AStreamWaitsForItsNewSourceWhenTheOldLeavesFirst) {
  auto old_pub = make_peer(5000), viewer = make_peer(5001);
  connect(*old_pub, true, "cam");
  connect(*viewer, false, "cam");
  auto offered = engine_->prepare_pull("cam", now_, true);
  ASSERT_TRUE(std::holds_alternative<sfu::PullOffered>(offered));
  old_pub->dtls().close();  // the streamer hangs up the old call first
  old_pub->flush(net_);
  advance(std::chrono::milliseconds(20));
  EXPECT_EQ(engine_->streams().size(), 1u);  // waiting, viewers kept
  EXPECT_EQ(engine_->streams()[0].viewers, 1u);
  // No answer ever comes: the stream ends when the call is given up.
  engine_->cancel_pull(std::get<sfu::PullOffered>(offered).session_id);
  advance(std::chrono::milliseconds(20));
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(engine_->streams().empty());
}

TEST_F(EngineTest, ViewersOnAnotherWorkerAreServedThroughARelay) {
  auto pub = make_peer(5000), local = make_peer(5001), remote = make_peer(5002);
  const std::string pub_session = connect(*pub, true, "cam");
  relay("cam");
  connect(*local, false, "cam");
  const std::string remote_session = connect(*remote, false, "cam", relay_engine_.get());
  EXPECT_EQ(sfu::Engine::worker_of_session(pub_session), 0u);
  EXPECT_EQ(sfu::Engine::worker_of_session(remote_session), 1u);
  // The relay is not a stream of its own: its viewer counts in the origin's.
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(relay_engine_->streams().empty());
  ASSERT_EQ(engine_->streams().size(), 1u);
  EXPECT_EQ(engine_->streams()[0].viewers, 2u);

  // The relay's viewer loses packet 13 on the way.
  drop_ = [&](const Datagram& d) {  // SRTP leaves the RTP header in the clear
    return d.to == remote->address() && d.data.size() > 100 && (d.data[1] & 0x7f) == 96 &&
           load_be16(d.data.data() + 2) == 13;
  };
  pub->send_rtp(make_vp8_packet(2222, 10, 900, false), net_);  // delta before any keyframe
  for (uint16_t seq = 11; seq < 20; ++seq)
    pub->send_rtp(make_vp8_packet(2222, seq, 1800, seq == 11), net_);
  pump();
  drop_ = nullptr;
  ASSERT_EQ(local->rtp_in.size(), 9u);
  ASSERT_EQ(remote->rtp_in.size(), 8u);  // the relay's viewer also starts at the keyframe
  EXPECT_EQ(remote->rtp_in[0], local->rtp_in[0]);
  EXPECT_EQ(remote->rtp_in[7], local->rtp_in[8]);

  // The relay answers its viewer's NACK from its own cache.
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(remote->rtp_in[0].data(), remote->rtp_in[0].size(), pkt));
  pub->rtcp_in.clear();
  Bytes nack;
  build_nack(Nack{77, pkt.ssrc(), {13}}, nack);
  remote->send_rtp(nack, net_, true);
  pump();
  ASSERT_EQ(remote->rtp_in.size(), 9u);
  RtpPacket repair, original;
  ASSERT_TRUE(RtpPacket::parse(remote->rtp_in[8].data(), remote->rtp_in[8].size(), repair));
  ASSERT_TRUE(RtpPacket::parse(local->rtp_in[2].data(), local->rtp_in[2].size(), original));
  EXPECT_EQ(repair.payload_type(), 97);  // RTX, carrying 13
  EXPECT_EQ(load_be16(repair.payload().data()), 13);
  EXPECT_EQ(repair.payload().size(), original.payload().size() + 2);
  EXPECT_EQ(count<Nack>(parse_rtcp(pub->rtcp_in)), 0u);

  // Its PLI reaches the publisher through the origin's tick.
  advance(std::chrono::seconds(1));
  pub->rtcp_in.clear();
  Bytes pli;
  build_pli(Pli{77, pkt.ssrc()}, pli);
  remote->send_rtp(pli, net_, true);
  pump();
  advance(std::chrono::milliseconds(20));
  EXPECT_EQ(count<Pli>(parse_rtcp(pub->rtcp_in)), 1u);

  // Sender reports reach the relay's viewer rewritten like the local one's.
  Bytes sr;
  build_sender_report(SenderReport{2222, 0x0102030405060708ull, 5000, 9, 9000, {}}, sr);
  pub->send_rtp(sr, net_, true);
  pump();
  auto srs = [](TestPeer& p) {
    std::vector<SenderReport> out;
    for (const auto& r : parse_rtcp(p.rtcp_in)) {
      if (auto* s = std::get_if<SenderReport>(&r)) out.push_back(*s);
    }
    return out;
  };
  ASSERT_EQ(srs(*remote).size(), 1u);
  EXPECT_EQ(srs(*remote)[0].ssrc, pkt.ssrc());
  EXPECT_EQ(srs(*remote)[0].ntp, 0x0102030405060708ull);

  // The relay's viewer leaves through its own engine.
  EXPECT_FALSE(engine_->end_session("cam", remote_session, false));
  EXPECT_TRUE(relay_engine_->end_session("cam", remote_session, false));
  advance(std::chrono::milliseconds(20));
  EXPECT_EQ(engine_->streams()[0].viewers, 1u);

  // The stream's end reaches the relay and closes its viewers.
  auto late = make_peer(5003);
  connect(*late, false, "cam", relay_engine_.get());
  EXPECT_TRUE(engine_->end_session("cam", pub_session, true));
  pump();
  EXPECT_EQ(late->dtls().state(), DtlsTransport::State::kClosed);
  advance(std::chrono::milliseconds(20));
  EXPECT_TRUE(engine_->streams().empty());
  // The name is free on both workers again.
  auto again = make_peer(5004);
  EXPECT_FALSE(connect(*again, true, "cam", relay_engine_.get()).empty());
}

TEST_F(EngineTest, ARelayIsOnlyMadeForALiveStreamAndGivesWayToANewOne) {
  auto link = std::make_shared<sfu::RelayLink>([] {});
  EXPECT_FALSE(engine_->attach_relay("cam", link));
  auto pub = make_peer(5000);
  connect(*pub, true, "cam");
  relay("cam");
  // A relay of a stream that ended, not yet told: a new stream of that name
  // may start on its worker at once.
  EXPECT_TRUE(engine_->end_session("cam", engine_->streams()[0].session_id, true));
  auto pub2 = make_peer(5001);
  EXPECT_FALSE(connect(*pub2, true, "cam", relay_engine_.get()).empty());
  // A live stream is never replaced by a relay.
  EXPECT_FALSE(relay_engine_->add_relay("cam", sfu::RelaySource{"x", {}}, link));
  EXPECT_TRUE(link->relay_gone.load());
  EXPECT_FALSE(sfu::Engine::worker_of_session("zz12"));
}

}  // namespace
}  // namespace lss::testing
