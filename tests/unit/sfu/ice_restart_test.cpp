// ICE restarts (WHIP/WHEP PATCH) and peers that change address, end to end
// in process: real checks, DTLS and SRTP between TestPeers and an Engine
// over a simulated network (the fixture is a trimmed copy of engine_test's).
#include <gtest/gtest.h>

#include <map>

#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "sfu/engine.hpp"
#include "sfu/session_etag.hpp"
#include "test_peer.hpp"

namespace lss::testing {
namespace {

class IceRestartEngineTest : public ::testing::Test {
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

  // Delivers queued datagrams until the network is quiet; counts what the
  // server sends to each address and keeps its STUN answers.
  void pump() {
    for (int guard = 0; guard < 10000 && !net_.empty(); ++guard) {
      Datagram d = std::move(net_.front());
      net_.pop_front();
      if (d.to == server_addr_) {
        engine_->handle_datagram(d.data.data(), d.data.size(), d.from, now_);
        continue;
      }
      sent_to_[d.to.port]++;
      if (!d.data.empty() && d.data[0] <= 3) stun_answers_.push_back(d);
      for (TestPeer* p : peers_) {
        if (p->address() == d.to) p->receive(d, net_, now_);
      }
    }
  }

  void advance(Duration d) {
    now_ += d;
    engine_->tick(now_);
    pump();
  }

  std::string connect(TestPeer& peer, bool publisher, const std::string& stream,
                      std::string* etag = nullptr) {
    peers_.push_back(&peer);
    auto sd = sdp::parse_sdp(peer.offer(publisher));
    EXPECT_TRUE(sd.ok());
    auto r = publisher ? engine_->publish(stream, sd.value(), now_)
                       : engine_->subscribe(stream, sd.value(), now_);
    auto* created = std::get_if<sfu::SessionCreated>(&r);
    if (!created) {
      ADD_FAILURE() << "session refused: " << std::get<sfu::Failure>(r).reason;
      return {};
    }
    if (etag) *etag = created->etag;
    EXPECT_TRUE(peer.set_answer(created->answer_sdp));
    peer.send_check(net_);
    pump();
    for (int i = 0; i < 5 && !peer.connected(); ++i) advance(std::chrono::milliseconds(20));
    EXPECT_TRUE(peer.connected());
    return created->session_id;
  }

  // A check from `from` with explicit credentials (the TestPeer's own
  // send_check always uses its current ones and nominates).
  void check(const SocketAddress& from, const std::string& server_ufrag,
             const std::string& server_pwd, const std::string& client_ufrag, bool nominate) {
    TransactionId txid;
    for (auto& b : txid) b = uint8_t(random_u32());
    StunBuilder b(stun::kBindingRequest, txid);
    b.add_string(stun::kAttrUsername, server_ufrag + ":" + client_ufrag)
        .add_u32(stun::kAttrPriority, 0x6e7f1eff)
        .add_u64(stun::kAttrIceControlling, 42);
    if (nominate) b.add_flag(stun::kAttrUseCandidate);
    net_.push_back({b.finish(server_pwd, true), from, server_addr_});
    stun_answers_.clear();
    pump();
  }
  // The one STUN answer of the last check: success signed with `pwd`?
  bool answered_with(const std::string& pwd) const {
    if (stun_answers_.size() != 1) return false;
    auto m = StunMessage::parse(stun_answers_[0].data);
    return m.ok() && m->type() == stun::kBindingSuccess && m->verify_message_integrity(pwd);
  }

  // One video packet from the publisher; true when `viewer` got it.
  bool media_reaches(TestPeer& pub, TestPeer& viewer) {
    const size_t before = viewer.rtp_in.size();
    pub.send_rtp(make_vp8_packet(2222, seq_, 3000u * seq_, false), net_);
    ++seq_;
    pump();
    return viewer.rtp_in.size() == before + 1;
  }

  // Starts the stream's video at a keyframe so viewers get every packet.
  void start_video(TestPeer& pub) {
    pub.send_rtp(make_vp8_packet(2222, seq_, 3000u * seq_, true), net_);
    ++seq_;
    pump();
  }

  const sfu::ViewerStats& only_viewer() {
    stats_ = engine_->viewer_stats();
    EXPECT_EQ(stats_.size(), 1u);
    return stats_.at(0);
  }

  const SocketAddress server_addr_ = SocketAddress::ipv4(0x7f000001, 40000);
  std::shared_ptr<DtlsCertificate> server_cert_, client_cert_;
  std::deque<Datagram> net_;
  std::unique_ptr<sfu::Engine> engine_;
  std::vector<TestPeer*> peers_;
  std::map<uint16_t, size_t> sent_to_;  // datagrams from the server, by destination port
  std::vector<Datagram> stun_answers_;
  std::vector<sfu::ViewerStats> stats_;
  uint16_t seq_ = 100;
  Timestamp now_ = Clock::now();
};

TEST_F(IceRestartEngineTest, ViewerRestartKeepsDtlsSrtpAndSsrcsAndRetiresTheOldCredentials) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  std::string etag;
  const std::string id = connect(*v, false, "cam", &etag);
  start_video(*pub);
  ASSERT_TRUE(media_reaches(*pub, *v));
  RtpPacket first;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), first));
  EXPECT_EQ(engine_->peer_count(), 2u);

  auto ice = engine_->session_ice("cam", id, false);
  ASSERT_TRUE(ice);
  EXPECT_EQ(ice->etag, etag);
  EXPECT_EQ(ice->remote_ufrag, v->ice_ufrag());

  // The client restarts (new ufrag/pwd of its own) and PATCHes: the server
  // gets new credentials and a new ETag.
  const std::string old_ufrag = v->server_ufrag(), old_pwd = v->server_pwd();
  const std::string old_client = v->ice_ufrag();
  v->new_ice_credentials();
  auto r = engine_->restart_ice("cam", id, false, v->ice_ufrag());
  auto* restarted = std::get_if<sfu::IceRestarted>(&r);
  ASSERT_TRUE(restarted);
  EXPECT_NE(restarted->etag, etag);
  EXPECT_EQ(restarted->etag, sfu::session_etag(id, restarted->local.ice_ufrag));
  EXPECT_NE(restarted->local.ice_ufrag, old_ufrag);
  EXPECT_NE(restarted->local.ice_pwd, old_pwd);
  EXPECT_EQ(restarted->local.candidates,
            (std::vector<std::pair<std::string, uint16_t>>{{"127.0.0.1", server_addr_.port}}));
  ice = engine_->session_ice("cam", id, false);
  ASSERT_TRUE(ice);
  EXPECT_EQ(ice->etag, restarted->etag);
  EXPECT_EQ(ice->remote_ufrag, v->ice_ufrag());
  EXPECT_EQ(engine_->peer_count(), 2u);  // one peer, two ufrags for a while

  // Checks in flight (and consent) with the old credentials: still answered.
  check(v->address(), old_ufrag, old_pwd, old_client, true);
  EXPECT_TRUE(answered_with(old_pwd));
  ASSERT_TRUE(media_reaches(*pub, *v));

  // The client's new generation: a check with the new credentials, then
  // the nomination that completes the restart.
  v->set_server_credentials(restarted->local.ice_ufrag, restarted->local.ice_pwd);
  check(v->address(), v->server_ufrag(), v->server_pwd(), v->ice_ufrag(), false);
  EXPECT_TRUE(answered_with(v->server_pwd()));
  check(v->address(), old_ufrag, old_pwd, old_client, false);
  EXPECT_TRUE(answered_with(old_pwd)) << "not complete before the nomination";
  check(v->address(), v->server_ufrag(), v->server_pwd(), v->ice_ufrag(), true);
  EXPECT_TRUE(answered_with(v->server_pwd()));
  EXPECT_EQ(only_viewer().ice_restarts, 1u);

  // Old credentials no longer reach the peer: dropped unanswered.
  check(v->address(), old_ufrag, old_pwd, old_client, true);
  EXPECT_TRUE(stun_answers_.empty());
  EXPECT_EQ(engine_->peer_count(), 2u);

  // Same DTLS association and SRTP keys, same SSRC, continuous sequence.
  ASSERT_TRUE(media_reaches(*pub, *v));
  RtpPacket after;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), after));
  EXPECT_EQ(after.ssrc(), first.ssrc());
  EXPECT_EQ(uint16_t(after.sequence_number() - first.sequence_number()), 2);
  EXPECT_EQ(v->dtls().state(), DtlsTransport::State::kConnected);
  // And the viewer's RTCP still reaches the server.
  const uint64_t plis = only_viewer().plis;
  Bytes pli;
  build_pli(Pli{77, first.ssrc()}, pli);
  v->send_rtp(pli, net_, true);
  pump();
  EXPECT_EQ(only_viewer().plis, plis + 1);
  // Consent lives on the new credentials.
  for (int i = 0; i < 20; ++i) {
    check(v->address(), v->server_ufrag(), v->server_pwd(), v->ice_ufrag(), true);
    pub->send_check(net_);
    advance(std::chrono::seconds(1));
  }
  EXPECT_TRUE(media_reaches(*pub, *v));
  EXPECT_TRUE(only_viewer().connected);
}

TEST_F(IceRestartEngineTest, PublisherRestartsOntoANewNetwork) {
  auto pub = make_peer(5000), v = make_peer(5001);
  const std::string id = connect(*pub, true, "cam");
  connect(*v, false, "cam");
  start_video(*pub);
  ASSERT_TRUE(media_reaches(*pub, *v));

  // The publisher's network changed (Wi-Fi to mobile): it restarts ICE and
  // its new generation comes from another address.
  EXPECT_FALSE(engine_->session_ice("cam", id, false));  // not a viewer session
  const std::string old_ufrag = pub->server_ufrag(), old_pwd = pub->server_pwd();
  const std::string old_client = pub->ice_ufrag();
  pub->new_ice_credentials();
  auto r = engine_->restart_ice("cam", id, true, pub->ice_ufrag());
  auto* restarted = std::get_if<sfu::IceRestarted>(&r);
  ASSERT_TRUE(restarted);
  const SocketAddress old_addr = pub->address();
  pub->set_address(SocketAddress::ipv4(0x0a000002, 7000));
  pub->set_server_credentials(restarted->local.ice_ufrag, restarted->local.ice_pwd);
  stun_answers_.clear();
  pub->send_check(net_);  // nominates with the new credentials
  pump();
  EXPECT_TRUE(answered_with(pub->server_pwd()));
  // Its media from the new address flows to viewers, and the server's RTCP
  // to it goes there, not to the old address.
  ASSERT_TRUE(media_reaches(*pub, *v));
  pub->rtcp_in.clear();
  sent_to_.clear();
  advance(std::chrono::seconds(2));  // receiver reports and feedback
  EXPECT_FALSE(pub->rtcp_in.empty());
  EXPECT_EQ(sent_to_[old_addr.port], 0u);
  // The old generation is gone.
  check(old_addr, old_ufrag, old_pwd, old_client, true);
  EXPECT_TRUE(stun_answers_.empty());
}

TEST_F(IceRestartEngineTest, RestartOfUnknownOrClosedSessionsIs404) {
  auto pub = make_peer(5000), v = make_peer(5001);
  const std::string pub_id = connect(*pub, true, "cam");
  const std::string id = connect(*v, false, "cam");
  auto fails = [&](const std::string& stream, const std::string& session, bool publisher) {
    auto r = engine_->restart_ice(stream, session, publisher, "abcd");
    auto* f = std::get_if<sfu::Failure>(&r);
    return f && f->status == 404 && !engine_->session_ice(stream, session, publisher);
  };
  EXPECT_TRUE(fails("cam", "00deadbeef", false));
  EXPECT_TRUE(fails("nope", id, false));
  EXPECT_TRUE(fails("cam", id, true));       // a viewer's id as a publisher
  EXPECT_TRUE(fails("cam", pub_id, false));  // and the other way round
  EXPECT_TRUE(engine_->session_ice("cam", pub_id, true));
  ASSERT_TRUE(engine_->end_session("cam", id, false));
  EXPECT_TRUE(fails("cam", id, false));
}

TEST_F(IceRestartEngineTest, APeerLeavingMidRestartTakesBothUfragsWithIt) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  const std::string id = connect(*v, false, "cam");
  const std::string old_ufrag = v->server_ufrag(), old_pwd = v->server_pwd();
  const std::string old_client = v->ice_ufrag();
  v->new_ice_credentials();
  auto r1 = engine_->restart_ice("cam", id, false, v->ice_ufrag());
  ASSERT_TRUE(std::holds_alternative<sfu::IceRestarted>(r1));
  // A second PATCH before the first was used: the first's credentials are
  // superseded, the ones in use stay.
  auto r2 = engine_->restart_ice("cam", id, false, v->ice_ufrag());
  ASSERT_TRUE(std::holds_alternative<sfu::IceRestarted>(r2));
  const auto& first = std::get<sfu::IceRestarted>(r1).local;
  const auto& second = std::get<sfu::IceRestarted>(r2).local;
  check(v->address(), first.ice_ufrag, first.ice_pwd, v->ice_ufrag(), true);
  EXPECT_TRUE(stun_answers_.empty());
  check(v->address(), old_ufrag, old_pwd, old_client, true);
  EXPECT_TRUE(answered_with(old_pwd));
  EXPECT_EQ(engine_->peer_count(), 2u);

  ASSERT_TRUE(engine_->end_session("cam", id, false));
  advance(std::chrono::milliseconds(20));
  EXPECT_EQ(engine_->peer_count(), 1u);
  // Neither ufrag leads anywhere now (a dangling peer would crash under ASan).
  check(v->address(), old_ufrag, old_pwd, old_client, true);
  EXPECT_TRUE(stun_answers_.empty());
  check(v->address(), second.ice_ufrag, second.ice_pwd, v->ice_ufrag(), true);
  EXPECT_TRUE(stun_answers_.empty());
}

// Item 2 of the issue: a peer whose traffic comes from a new address (NAT
// rebinding, a new network) is followed once a valid check comes from there.
TEST_F(IceRestartEngineTest, AViewerThatMovesIsFollowedAfterAValidCheck) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  start_video(*pub);
  ASSERT_TRUE(media_reaches(*pub, *v));
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));

  // The NAT gives the viewer a new mapping. Until a check arrives from it,
  // nothing from there is taken (SRTP alone does not move a peer) and
  // media still goes to the old mapping.
  const SocketAddress old_addr = v->address();
  v->set_address(SocketAddress::ipv4(0xc0000201, 6001));
  Bytes pli;
  build_pli(Pli{77, pkt.ssrc()}, pli);
  const uint64_t plis = only_viewer().plis;
  v->send_rtp(pli, net_, true);
  pump();
  EXPECT_EQ(only_viewer().plis, plis);
  sent_to_.clear();
  EXPECT_FALSE(media_reaches(*pub, *v));
  EXPECT_EQ(sent_to_[old_addr.port], 1u);

  // A check with the wrong password from there changes nothing.
  check(v->address(), v->server_ufrag(), "wrongpassword0123456789x", v->ice_ufrag(), true);
  EXPECT_FALSE(media_reaches(*pub, *v));

  // A valid nominating check (what Chrome sends on its selected pair): the
  // server follows at once.
  v->send_check(net_);
  pump();
  EXPECT_TRUE(media_reaches(*pub, *v));
  v->send_rtp(pli, net_, true);
  pump();
  EXPECT_EQ(only_viewer().plis, plis + 1);
  EXPECT_EQ(only_viewer().address_changes, 1u);
}

TEST_F(IceRestartEngineTest, AMoveWithoutNominationIsFollowedOnceMediaComesFromThere) {
  auto pub = make_peer(5000), v = make_peer(5001);
  connect(*pub, true, "cam");
  connect(*v, false, "cam");
  start_video(*pub);
  ASSERT_TRUE(media_reaches(*pub, *v));
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(v->rtp_in.back().data(), v->rtp_in.back().size(), pkt));

  // Regular nomination: consent checks after the move carry no
  // USE-CANDIDATE. The check validates the new address...
  v->set_address(SocketAddress::ipv4(0xc0000201, 6002));
  check(v->address(), v->server_ufrag(), v->server_pwd(), v->ice_ufrag(), false);
  EXPECT_TRUE(answered_with(v->server_pwd()));
  EXPECT_FALSE(media_reaches(*pub, *v));  // still sent to the old mapping
  // ... and the viewer's next RTCP from it (authenticated SRTCP) moves the media.
  Bytes pli;
  build_pli(Pli{77, pkt.ssrc()}, pli);
  v->send_rtp(pli, net_, true);
  pump();
  EXPECT_TRUE(media_reaches(*pub, *v));
  EXPECT_EQ(only_viewer().address_changes, 1u);
}

TEST(SessionEtag, QuotedOpaqueAndPerGeneration) {
  const std::string a = sfu::session_etag("00abcdef0123456789abcd", "ufrag1");
  EXPECT_EQ(a.size(), 22u);
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_EQ(a.find("ufrag1"), std::string::npos);
  EXPECT_EQ(a, sfu::session_etag("00abcdef0123456789abcd", "ufrag1"));
  EXPECT_NE(a, sfu::session_etag("00abcdef0123456789abcd", "ufrag2"));
  EXPECT_NE(a, sfu::session_etag("01abcdef0123456789abcd", "ufrag1"));
  for (char c : a.substr(1, 20)) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)));
}

}  // namespace
}  // namespace lss::testing
