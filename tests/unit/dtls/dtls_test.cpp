#include <gtest/gtest.h>

#include <thread>

#include "dtls/dtls_transport.hpp"
#include "srtp/srtp_session.hpp"

namespace lss {
namespace {

struct Pair {
  std::shared_ptr<DtlsCertificate> client_cert = DtlsCertificate::generate().value();
  std::shared_ptr<DtlsCertificate> server_cert = DtlsCertificate::generate().value();
  std::unique_ptr<DtlsTransport> client, server;

  explicit Pair(std::string client_profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
                std::string server_profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
                std::string expected_client_fp = {}) {
    client = std::make_unique<DtlsTransport>(client_cert, DtlsTransport::Role::kClient, "sha-256",
                                             server_cert->fingerprint_sha256(), client_profiles);
    server = std::make_unique<DtlsTransport>(
        server_cert, DtlsTransport::Role::kServer, "sha-256",
        expected_client_fp.empty() ? client_cert->fingerprint_sha256() : expected_client_fp,
        server_profiles);
  }

  // Shuttles datagrams both ways until neither side has anything to send.
  void pump(int drop_first_client_flights = 0) {
    const Timestamp now = Clock::now();
    for (int i = 0; i < 50; ++i) {
      auto c = client->take_outgoing();
      auto s = server->take_outgoing();
      if (c.empty() && s.empty()) return;
      if (drop_first_client_flights > 0 && !c.empty()) {
        --drop_first_client_flights;
        c.clear();
      }
      for (auto& d : c) server->handle_datagram(d, now);
      for (auto& d : s) client->handle_datagram(d, now);
    }
  }
};

TEST(Dtls, CertificateFingerprintLooksRight) {
  auto cert = DtlsCertificate::generate().value();
  const std::string& fp = cert->fingerprint_sha256();
  EXPECT_EQ(fp.size(), 32u * 3 - 1);
  EXPECT_EQ(fp[2], ':');
  EXPECT_EQ(certificate_fingerprint(cert->x509(), "SHA-256").value(), fp);
  EXPECT_EQ(certificate_fingerprint(cert->x509(), "sha-1").value().size(), 20u * 3 - 1);
  EXPECT_FALSE(certificate_fingerprint(cert->x509(), "md5").ok());
}

TEST(Dtls, HandshakeExportsMatchingKeysPreferringGcm) {
  Pair p;
  p.client->start(Clock::now());
  p.pump();
  ASSERT_EQ(p.client->state(), DtlsTransport::State::kConnected) << p.client->error();
  ASSERT_EQ(p.server->state(), DtlsTransport::State::kConnected) << p.server->error();
  const auto& ck = *p.client->srtp_keys();
  const auto& sk = *p.server->srtp_keys();
  EXPECT_EQ(ck.profile, SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(sk.profile, SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(ck.local_master, sk.remote_master);
  EXPECT_EQ(ck.remote_master, sk.local_master);
  EXPECT_NE(ck.local_master, ck.remote_master);
  EXPECT_EQ(ck.local_master.size(), 16u + 12u);
}

TEST(Dtls, FallsBackToAesCmWhenThePeerOffersOnlyThat) {
  Pair p("SRTP_AES128_CM_SHA1_80");
  p.client->start(Clock::now());
  p.pump();
  ASSERT_EQ(p.server->state(), DtlsTransport::State::kConnected) << p.server->error();
  EXPECT_EQ(p.server->srtp_keys()->profile, SrtpProfile::kAes128CmSha1_80);
  EXPECT_EQ(p.server->srtp_keys()->local_master.size(), 16u + 14u);
}

TEST(Dtls, FingerprintMismatchFails) {
  Pair p("SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_80",
         "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
         "DD:EE:FF");
  p.client->start(Clock::now());
  p.pump();
  EXPECT_EQ(p.server->state(), DtlsTransport::State::kFailed);
  EXPECT_NE(p.server->error().find("fingerprint"), std::string::npos);
  EXPECT_FALSE(p.server->srtp_keys().has_value());
}

TEST(Dtls, CloseNotifyEndsTheOtherSide) {
  Pair p;
  p.client->start(Clock::now());
  p.pump();
  p.server->close();
  EXPECT_EQ(p.server->state(), DtlsTransport::State::kClosed);
  p.pump();
  EXPECT_EQ(p.client->state(), DtlsTransport::State::kClosed);
}

TEST(Dtls, ApplicationDataRoundTrip) {
  Pair p;
  p.client->start(Clock::now());
  p.pump();
  const Bytes msg = {1, 2, 3, 4, 5};
  ASSERT_TRUE(p.client->send_application_data(msg).ok());
  p.pump();
  auto got = p.server->take_received_application_data();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], msg);
}

TEST(Dtls, OversizedApplicationDataIsRefusedAndTheConnectionLives) {
  Pair p;
  p.client->start(Clock::now());
  p.pump();
  // Beyond the maximum record size OpenSSL would fail the connection.
  EXPECT_FALSE(p.client->send_application_data(Bytes(1501, 7)).ok());
  EXPECT_EQ(p.client->state(), DtlsTransport::State::kConnected);
  const Bytes sctp_sized(1195, 9);
  ASSERT_TRUE(p.client->send_application_data(sctp_sized).ok());
  ASSERT_TRUE(p.server->send_application_data(sctp_sized).ok());
  p.pump();
  auto got = p.server->take_received_application_data();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], sctp_sized);
  EXPECT_EQ(p.client->take_received_application_data().size(), 1u);
}

TEST(Dtls, RetransmitsALostFlight) {
  Pair p;
  p.client->start(Clock::now());
  p.pump(1);  // the ClientHello is lost
  EXPECT_NE(p.server->state(), DtlsTransport::State::kConnected);
  auto t = p.client->next_timeout(Clock::now());
  ASSERT_TRUE(t.has_value());
  // OpenSSL's timer runs on its own clock: wait it out for real (1 s initial).
  std::this_thread::sleep_for(*t - Clock::now() + std::chrono::milliseconds(20));
  p.client->handle_timeout(Clock::now());
  p.pump();
  EXPECT_EQ(p.server->state(), DtlsTransport::State::kConnected) << p.server->error();
}

TEST(Dtls, GarbageNeverCrashesOrConnects) {
  Pair p;
  const Timestamp now = Clock::now();
  Bytes junk(300);
  for (int i = 0; i < 500; ++i) {
    for (auto& b : junk) b = uint8_t(rand());
    junk[0] = uint8_t(20 + i % 44);
    junk[1] = 0xfe;
    p.server->handle_datagram(ByteSpan(junk.data(), size_t(i % 300)), now);
  }
  EXPECT_NE(p.server->state(), DtlsTransport::State::kConnected);
  EXPECT_FALSE(split_dtls_records(Bytes{22, 0xfe, 0xfd, 0, 0}).ok());
  // A real handshake still works afterwards on fresh transports.
  Pair q;
  q.client->start(now);
  q.pump();
  EXPECT_EQ(q.server->state(), DtlsTransport::State::kConnected);
}

TEST(Dtls, ExportedKeysDriveSrtpBothWays) {
  Pair p;
  p.client->start(Clock::now());
  p.pump();
  const auto& ck = *p.client->srtp_keys();
  const auto& sk = *p.server->srtp_keys();
  auto out =
      SrtpSession::create(ck.profile, ck.local_master, SrtpSession::Direction::kOutbound).value();
  auto in =
      SrtpSession::create(sk.profile, sk.remote_master, SrtpSession::Direction::kInbound).value();
  uint8_t pkt[64 + SrtpSession::kMaxTrailer] = {0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9};
  size_t len = 64;
  ASSERT_TRUE(out->protect_rtp(pkt, len, sizeof pkt).ok());
  ASSERT_TRUE(in->unprotect_rtp(pkt, len).ok());
  EXPECT_EQ(len, 64u);
}

}  // namespace
}  // namespace lss
