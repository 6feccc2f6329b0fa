#include "sctp/sctp_association.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace lss::sctp {

// Reaches into the association to put DCEP the public API would never send.
struct SctpAssociationTestPeer {
  static void send_dcep(SctpAssociation& a, uint16_t stream_id, Bytes message) {
    SctpAssociation::Outgoing out;
    out.stream_id = stream_id;
    out.ppid = Ppid::kDcep;
    out.data = std::move(message);
    a.outgoing_.push_back(std::move(out));
    a.process();
  }
};

namespace {

using std::chrono::milliseconds;

struct Message {
  uint16_t stream_id;
  Bytes data;
  bool binary;
};

// One side of the in-memory wire: what its callbacks reported.
struct Peer {
  std::unique_ptr<SctpAssociation> assoc;
  bool established = false;
  std::vector<std::pair<uint16_t, std::string>> opened;  // stream id, label
  std::vector<std::string> opened_protocols;
  std::vector<Message> messages;
  std::vector<uint16_t> closed_channels;
  std::vector<std::string> closed;
  std::vector<std::string> warnings;
  // Destroy the association from inside these callbacks.
  bool destroy_on_message = false;
  bool destroy_on_closed = false;
};

// usrsctp's timers are process-global, so the fake clock is too: it only ever
// moves forward, across tests as well.
Timestamp& fake_now() {
  static Timestamp now = Timestamp{} + std::chrono::hours(1);
  return now;
}

class SctpPair : public ::testing::Test {
 protected:
  void SetUp() override {
    make(a_, 0, /*dtls_client=*/true);
    make(b_, 1, /*dtls_client=*/false);
  }

  void make(Peer& p, int index, bool dtls_client) {
    SctpAssociation::Callbacks cb;
    // Packets go through a queue drained by pump(), never straight into the
    // other side: that is how DTLS + a socket behave, and it keeps the
    // associations from re-entering each other.
    cb.send_packet = [this, index](ByteSpan packet) {
      max_packet_ = std::max(max_packet_, packet.size());
      if (!drop_) wire_.emplace_back(1 - index, Bytes(packet.begin(), packet.end()));
    };
    cb.on_established = [&p] { p.established = true; };
    cb.on_channel_open = [&p](uint16_t sid, const std::string& label, const std::string& proto) {
      p.opened.emplace_back(sid, label);
      p.opened_protocols.push_back(proto);
    };
    cb.on_message = [&p](uint16_t sid, ByteSpan data, bool binary) {
      p.messages.push_back({sid, Bytes(data.begin(), data.end()), binary});
      if (p.destroy_on_message) p.assoc.reset();
    };
    cb.on_channel_closed = [&p](uint16_t sid) { p.closed_channels.push_back(sid); };
    cb.on_closed = [&p](const std::string& reason) {
      p.closed.push_back(reason);
      if (p.destroy_on_closed) p.assoc.reset();
    };
    cb.on_warning = [&p](const std::string& what) { p.warnings.push_back(what); };
    p.assoc = std::make_unique<SctpAssociation>(5000, 5000, dtls_client, std::move(cb));
  }

  Peer& peer(int index) { return index == 0 ? a_ : b_; }

  void pump() {
    while (!wire_.empty()) {
      auto [to, packet] = std::move(wire_.front());
      wire_.pop_front();
      if (peer(to).assoc) peer(to).assoc->handle_packet(packet);
    }
  }

  // Delivers packets and advances the fake clock in 10 ms steps until `done`.
  template <typename Pred>
  bool run_until(Pred done, Duration limit = std::chrono::seconds(10)) {
    for (Duration t{}; t <= limit; t += milliseconds(10)) {
      pump();
      if (done()) return true;
      fake_now() += milliseconds(10);
      for (Peer* p : {&a_, &b_}) {
        if (p->assoc) p->assoc->tick(fake_now());
      }
    }
    pump();
    return done();
  }

  void establish() {
    ASSERT_TRUE(a_.assoc->start().ok());
    ASSERT_TRUE(b_.assoc->start().ok());
    ASSERT_TRUE(run_until([&] { return a_.assoc->established() && b_.assoc->established(); }));
    EXPECT_TRUE(a_.established);
    EXPECT_TRUE(b_.established);
  }

  // A opens "label"; B sees it; A's channel opens on the ACK.
  uint16_t open_from_a(const std::string& label = "label") {
    auto sid = a_.assoc->open_channel(label, "proto");
    EXPECT_TRUE(sid.ok());
    if (!sid.ok()) return 0;
    EXPECT_TRUE(run_until([&] { return a_.assoc->channel_open(*sid) && !b_.opened.empty(); }));
    return *sid;
  }

  static Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

  Peer a_, b_;
  std::deque<std::pair<int, Bytes>> wire_;
  size_t max_packet_ = 0;
  bool drop_ = false;
};

TEST_F(SctpPair, Establishes) {
  establish();
  EXPECT_TRUE(a_.closed.empty());
  EXPECT_TRUE(b_.closed.empty());
  // RFC 8261 §5: packets small enough for DTLS + UDP + IPv6 in 1280 bytes.
  EXPECT_LE(max_packet_, 1195u);
}

TEST_F(SctpPair, OpensChannelAndExchangesMessages) {
  establish();
  const uint16_t sid = open_from_a();
  EXPECT_EQ(sid % 2, 0) << "the DTLS client uses even stream ids";
  ASSERT_EQ(b_.opened.size(), 1u);
  EXPECT_EQ(b_.opened[0], std::make_pair(sid, std::string("label")));
  EXPECT_EQ(b_.opened_protocols[0], "proto");
  ASSERT_EQ(a_.opened.size(), 1u);  // the ACK opened A's side
  EXPECT_EQ(a_.opened[0].second, "label");
  EXPECT_TRUE(b_.assoc->channel_open(sid));

  ASSERT_TRUE(a_.assoc->send(sid, text("hello"), false).ok());
  ASSERT_TRUE(b_.assoc->send(sid, text("\x01\x02\x03"), true).ok());
  ASSERT_TRUE(b_.assoc->send(sid, ByteSpan(), false).ok());  // empty string: PPID 56
  ASSERT_TRUE(run_until([&] { return b_.messages.size() == 1 && a_.messages.size() == 2; }));
  EXPECT_EQ(b_.messages[0].stream_id, sid);
  EXPECT_EQ(b_.messages[0].data, text("hello"));
  EXPECT_FALSE(b_.messages[0].binary);
  EXPECT_EQ(a_.messages[0].data, text("\x01\x02\x03"));
  EXPECT_TRUE(a_.messages[0].binary);
  EXPECT_TRUE(a_.messages[1].data.empty());
  EXPECT_FALSE(a_.messages[1].binary);

  // Large messages are split into many DATA chunks and, on the receiving
  // side, delivered by usrsctp in pieces that must be put back together.
  Bytes big(100 * 1024);
  std::mt19937 rng(7);
  for (auto& x : big) x = uint8_t(rng());
  ASSERT_TRUE(a_.assoc->send(sid, big, true).ok());
  Bytes max(kMaxMessageSize, 0x5a);
  ASSERT_TRUE(b_.assoc->send(sid, max, true).ok());
  ASSERT_TRUE(run_until([&] { return b_.messages.size() == 2 && a_.messages.size() == 3; }));
  EXPECT_EQ(b_.messages[1].data, big);
  EXPECT_EQ(a_.messages[2].data, max);
  EXPECT_LE(max_packet_, 1195u);

  Bytes too_big(kMaxMessageSize + 1);
  EXPECT_FALSE(a_.assoc->send(sid, too_big, true).ok());
  EXPECT_TRUE(a_.warnings.empty()) << a_.warnings.front();
  EXPECT_TRUE(b_.warnings.empty()) << b_.warnings.front();
}

TEST_F(SctpPair, ServerOpensOddStreams) {
  establish();
  auto first = b_.assoc->open_channel("x");
  auto second = b_.assoc->open_channel("y");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first % 2, 1);
  EXPECT_EQ(*second % 2, 1);
  EXPECT_NE(*first, *second);
  ASSERT_TRUE(run_until([&] { return a_.opened.size() == 2 && b_.opened.size() == 2; }));
  // Messages sent before the ACK arrive, after the OPEN.
  auto third = b_.assoc->open_channel("z");
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(b_.assoc->send(*third, text("early"), false).ok());
  ASSERT_TRUE(run_until([&] { return a_.messages.size() == 1; }));
  EXPECT_EQ(a_.opened.back().first, *third);
  EXPECT_EQ(a_.messages[0].stream_id, *third);
}

TEST_F(SctpPair, ChannelOpenedBeforeEstablishmentIsQueued) {
  auto sid = a_.assoc->open_channel("early");
  ASSERT_TRUE(sid.ok());
  ASSERT_TRUE(a_.assoc->send(*sid, text("first"), false).ok());
  establish();
  ASSERT_TRUE(run_until([&] { return b_.messages.size() == 1 && a_.assoc->channel_open(*sid); }));
  EXPECT_EQ(b_.opened[0].second, "early");
  EXPECT_EQ(b_.messages[0].data, text("first"));
}

TEST_F(SctpPair, CloseChannelReachesTheOtherSide) {
  establish();
  const uint16_t sid = open_from_a();
  ASSERT_TRUE(a_.assoc->send(sid, text("last words"), false).ok());
  a_.assoc->close_channel(sid);
  EXPECT_FALSE(a_.assoc->send(sid, text("too late"), false).ok());
  ASSERT_TRUE(
      run_until([&] { return !b_.closed_channels.empty() && !a_.closed_channels.empty(); }));
  // Data queued before the reset is delivered before it.
  ASSERT_EQ(b_.messages.size(), 1u);
  EXPECT_EQ(b_.messages[0].data, text("last words"));
  EXPECT_EQ(b_.closed_channels, std::vector<uint16_t>{sid});
  EXPECT_EQ(a_.closed_channels, std::vector<uint16_t>{sid});
  EXPECT_FALSE(a_.assoc->channel_open(sid));
  EXPECT_FALSE(b_.assoc->channel_open(sid));
  EXPECT_TRUE(a_.closed.empty());

  // The stream id becomes free again once both directions are reset.
  ASSERT_TRUE(run_until([&] {
    auto again = a_.assoc->open_channel("again");
    return again.ok() && *again == sid;
  }));
  ASSERT_TRUE(run_until([&] { return b_.opened.size() == 2; }));
  EXPECT_EQ(b_.opened[1], std::make_pair(sid, std::string("again")));
}

TEST_F(SctpPair, RemoteInitiatedCloseAlsoClosesBothSides) {
  establish();
  const uint16_t sid = open_from_a();
  b_.assoc->close_channel(sid);
  ASSERT_TRUE(
      run_until([&] { return !a_.closed_channels.empty() && !b_.closed_channels.empty(); }));
  EXPECT_EQ(a_.closed_channels, std::vector<uint16_t>{sid});
}

TEST_F(SctpPair, GracefulCloseIsNoticedOnBothSides) {
  establish();
  open_from_a();
  a_.assoc->close();
  ASSERT_TRUE(run_until([&] { return !a_.closed.empty() && !b_.closed.empty(); }));
  EXPECT_EQ(a_.closed.size(), 1u);
  EXPECT_EQ(b_.closed.size(), 1u);
  EXPECT_FALSE(a_.assoc->established());
  EXPECT_FALSE(b_.assoc->established());
  EXPECT_FALSE(b_.assoc->send(0, text("x"), false).ok());
  EXPECT_FALSE(b_.assoc->open_channel("x").ok());
  // Nothing fires twice.
  run_until([] { return false; }, milliseconds(500));
  EXPECT_EQ(a_.closed.size(), 1u);
  EXPECT_EQ(b_.closed.size(), 1u);
}

TEST_F(SctpPair, LostPeerIsNoticedBySender) {
  establish();
  const uint16_t sid = open_from_a();
  drop_ = true;  // the network goes away
  ASSERT_TRUE(a_.assoc->send(sid, text("anyone there?"), false).ok());
  // usrsctp counts each retransmission timeout as an error and gives up after
  // 5 (RTO 1, 2, 4, 8, 10 s). Only the timers follow our fake clock: whether
  // to retransmit or send a heartbeat usrsctp decides with the real clock, so
  // the silent side (B) would only notice through heartbeats in real time.
  ASSERT_TRUE(run_until([&] { return !a_.closed.empty(); }, std::chrono::seconds(120)));
  EXPECT_EQ(a_.closed[0], "communication lost");
  EXPECT_FALSE(a_.assoc->established());
}

TEST_F(SctpPair, PacketsBeforeStartAreKept) {
  ASSERT_TRUE(a_.assoc->start().ok());
  pump();  // A's INIT reaches B before B started
  ASSERT_TRUE(b_.assoc->start().ok());
  ASSERT_TRUE(run_until([&] { return a_.assoc->established() && b_.assoc->established(); }));
}

TEST_F(SctpPair, GarbageIsHarmless) {
  establish();
  const uint16_t sid = open_from_a();
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng() % 1500);
    for (auto& x : junk) x = uint8_t(rng());
    if (i % 3 == 0 && junk.size() >= 12) {
      // A plausible common header (ports 5000 -> 5000) so some of it gets
      // past the port lookup to the checksum.
      junk[0] = 0x13, junk[1] = 0x88, junk[2] = 0x13, junk[3] = 0x88;
    }
    b_.assoc->handle_packet(junk);
  }
  b_.assoc->handle_packet(ByteSpan());
  Bytes huge(1 << 20, 0);
  b_.assoc->handle_packet(huge);
  ASSERT_TRUE(a_.assoc->send(sid, text("still alive"), false).ok());
  ASSERT_TRUE(run_until([&] { return !b_.messages.empty(); }));
  EXPECT_EQ(b_.messages[0].data, text("still alive"));
  EXPECT_TRUE(b_.closed.empty());
}

TEST_F(SctpPair, BadDcepIsDroppedWithAWarning) {
  establish();
  const uint16_t sid = open_from_a();
  // Truncated OPEN, a second OPEN on a stream in use, an ACK nobody asked for.
  SctpAssociationTestPeer::send_dcep(*a_.assoc, 10, Bytes{0x03, 0x00, 0x01});
  DataChannelOpen dup;
  dup.label = "dup";
  auto again = build_data_channel_open(dup);
  ASSERT_TRUE(again.ok());
  SctpAssociationTestPeer::send_dcep(*a_.assoc, sid, *again);
  SctpAssociationTestPeer::send_dcep(*a_.assoc, 12, build_data_channel_ack());
  ASSERT_TRUE(a_.assoc->send(sid, text("ok"), false).ok());
  ASSERT_TRUE(run_until([&] { return !b_.messages.empty(); }));
  EXPECT_EQ(b_.warnings.size(), 3u);
  EXPECT_EQ(b_.opened.size(), 1u);
  EXPECT_FALSE(b_.assoc->channel_open(10));
  EXPECT_TRUE(b_.closed.empty());
}

TEST_F(SctpPair, CallbackMayDestroyTheAssociation) {
  establish();
  const uint16_t sid = open_from_a();
  b_.destroy_on_message = true;
  ASSERT_TRUE(a_.assoc->send(sid, text("one"), false).ok());
  ASSERT_TRUE(a_.assoc->send(sid, text("two"), false).ok());
  ASSERT_TRUE(run_until([&] { return b_.assoc == nullptr; }));
  EXPECT_EQ(b_.messages.size(), 1u);  // nothing after destruction
  // The survivor keeps running (until its timers give up on the peer).
  ASSERT_TRUE(a_.assoc->send(sid, text("three"), false).ok());
  run_until([] { return false; }, milliseconds(500));
}

TEST_F(SctpPair, OnClosedMayDestroyTheAssociation) {
  establish();
  b_.destroy_on_closed = true;
  a_.assoc->close();
  ASSERT_TRUE(run_until([&] { return b_.assoc == nullptr && !a_.closed.empty(); }));
  EXPECT_EQ(b_.closed.size(), 1u);
}

TEST(SctpAssociation, DestroyWithoutStart) {
  SctpAssociation::Callbacks cb;
  cb.send_packet = [](ByteSpan) {};
  SctpAssociation a(5000, 5000, true, cb);
  a.handle_packet(Bytes(100, 0));
  a.tick(fake_now());
  EXPECT_FALSE(a.established());
}

}  // namespace
}  // namespace lss::sctp
