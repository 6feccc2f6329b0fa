// The HTTPS certificate: loading PEM chains and keys, refusing bad ones,
// TLS 1.2/1.3 only (checked with in-memory handshakes), and the reload
// bookkeeping: file stamps through symlinks, the settle-then-reload
// decision, and a provider that keeps its certificate when a reload fails.
#include "http/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>

#include "test_certs.hpp"

namespace lss::http {
namespace {
namespace fs = std::filesystem;
using test::make_cert;
using test::make_key;
using test::replace_file;
using test::TempDir;
using test::TestCert;
using test::write_file;

struct Handshake {
  bool ok = false;
  int version = 0;
  long verify = -1;
  std::string peer_serial;
  std::string error;
};

// A TLS handshake between `server` and a client that trusts `root` and
// expects `host`, over an in-memory BIO pair.
Handshake handshake(SSL_CTX* server, X509* root, int client_max_version = TLS1_3_VERSION,
                    const char* host = "live.test") {
  Handshake out;
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(cctx, 0);  // let the client offer old versions
  SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(cctx, client_max_version);
  if (client_max_version < TLS1_2_VERSION) SSL_CTX_set_cipher_list(cctx, "DEFAULT:@SECLEVEL=0");
  X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), root);
  SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, nullptr);  // the result is read below
  SSL* c = SSL_new(cctx);
  SSL_set_tlsext_host_name(c, host);
  SSL_set1_host(c, host);
  SSL* s = SSL_new(server);
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  for (int i = 0; i < 50; ++i) {
    const int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
    if (rc == 1 && rs == 1) {
      out.ok = true;
      break;
    }
    const int ec = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(c, rc);
    const int es = rs == 1 ? SSL_ERROR_NONE : SSL_get_error(s, rs);
    auto fine = [](int e) {
      return e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
    };
    if (!fine(ec) || !fine(es)) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      out.error = buf;
      break;
    }
  }
  if (out.ok) {
    out.version = SSL_version(c);
    out.verify = SSL_get_verify_result(c);
    if (X509* peer = SSL_get1_peer_certificate(c)) {
      BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
      char* hex = BN_bn2hex(bn);
      out.peer_serial = hex;
      OPENSSL_free(hex);
      BN_free(bn);
      X509_free(peer);
    }
  }
  ERR_clear_error();
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  return out;
}

// A root CA, an intermediate, and a leaf for live.test issued by it.
struct Pki {
  TestCert root = make_cert("LSS Test Root", 1, nullptr, true);
  TestCert intermediate = make_cert("LSS Test Intermediate", 2, &root, true);
  TestCert leaf(long serial, const std::string& san = "DNS:live.test") const {
    return make_cert("live.test", serial, &intermediate, false, san);
  }
};

TEST(TlsContext, LoadsAChainAndServesTls12And13Only) {
  TempDir dir;
  Pki pki;
  const TestCert leaf = pki.leaf(0x1001);
  write_file(dir / "fullchain.pem", leaf.pem() + pki.intermediate.pem());
  write_file(dir / "privkey.pem", leaf.key.pem());
  auto loaded = load_tls_context(dir / "fullchain.pem", dir / "privkey.pem");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const CertificateInfo& info = loaded->info;
  EXPECT_EQ(info.subject, "CN=live.test");
  EXPECT_EQ(info.issuer, "CN=LSS Test Intermediate");
  EXPECT_EQ(info.serial, "1001");
  EXPECT_EQ(info.chain_length, 2u);
  EXPECT_EQ(info.dns_names, std::vector<std::string>{"live.test"});
  EXPECT_FALSE(info.expired);
  EXPECT_NE(info.describe().find("serial 1001"), std::string::npos) << info.describe();

  SSL_CTX* server = loaded->context->native_handle();
  auto tls13 = handshake(server, pki.root.cert.get());
  ASSERT_TRUE(tls13.ok) << tls13.error;
  EXPECT_EQ(tls13.version, TLS1_3_VERSION);
  EXPECT_EQ(tls13.verify, X509_V_OK) << "the intermediate must go out with the leaf";
  EXPECT_EQ(tls13.peer_serial, "1001");
  auto tls12 = handshake(server, pki.root.cert.get(), TLS1_2_VERSION);
  ASSERT_TRUE(tls12.ok) << tls12.error;
  EXPECT_EQ(tls12.version, TLS1_2_VERSION);
  EXPECT_EQ(tls12.verify, X509_V_OK);
  EXPECT_FALSE(handshake(server, pki.root.cert.get(), TLS1_1_VERSION).ok);
  EXPECT_FALSE(handshake(server, pki.root.cert.get(), TLS1_VERSION).ok);
  // The name is checked by the client: another host name fails verification.
  EXPECT_NE(handshake(server, pki.root.cert.get(), TLS1_3_VERSION, "other.test").verify, X509_V_OK);
}

TEST(TlsContext, ALeafWithoutItsIntermediateDoesNotVerify) {
  TempDir dir;
  Pki pki;
  const TestCert leaf = pki.leaf(7);
  write_file(dir / "cert.pem", leaf.pem());
  write_file(dir / "key.pem", leaf.key.pem());
  auto loaded = load_tls_context(dir / "cert.pem", dir / "key.pem");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->info.chain_length, 1u);
  auto hs = handshake(loaded->context->native_handle(), pki.root.cert.get());
  ASSERT_TRUE(hs.ok);
  EXPECT_NE(hs.verify, X509_V_OK);
}

TEST(TlsContext, RsaKeysAndCombinedFilesWork) {
  TempDir dir;
  const TestCert self = make_cert("rsa.test", 42, nullptr, false, "DNS:rsa.test", make_key(true));
  // One file with both, in either order, given as both variables.
  write_file(dir / "both.pem", self.key.pem() + self.pem());
  auto loaded = load_tls_context(dir / "both.pem", dir / "both.pem");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->info.serial, "2A");
  auto hs =
      handshake(loaded->context->native_handle(), self.cert.get(), TLS1_2_VERSION, "rsa.test");
  ASSERT_TRUE(hs.ok) << hs.error;
  EXPECT_EQ(hs.verify, X509_V_OK);
}

TEST(TlsContext, RejectsBadFilesNamingTheOneAtFault) {
  TempDir dir;
  Pki pki;
  const TestCert leaf = pki.leaf(1);
  const TestCert other = pki.leaf(2);  // another key
  write_file(dir / "cert.pem", leaf.pem());
  write_file(dir / "key.pem", leaf.key.pem());
  write_file(dir / "other-key.pem", other.key.pem());
  write_file(dir / "garbage.pem", "not a certificate\n");
  write_file(dir / "enc-key.pem", leaf.key.encrypted_pem("secret"));
  using File = TlsLoadError::File;
  struct Case {
    std::string cert, key;
    File file;
    std::string says;
  } cases[] = {
      {dir / "missing.pem", dir / "key.pem", File::kCert, "cannot read"},
      {dir / "cert.pem", dir / "missing.pem", File::kKey, "cannot read"},
      {dir.path.string(), dir / "key.pem", File::kCert, "is a directory"},
      {dir / "garbage.pem", dir / "key.pem", File::kCert, "no PEM certificate"},
      {dir / "key.pem", dir / "key.pem", File::kCert, "no PEM certificate"},
      {dir / "cert.pem", dir / "cert.pem", File::kKey, "no PEM private key"},
      {dir / "cert.pem", dir / "garbage.pem", File::kKey, "no PEM private key"},
      {dir / "cert.pem", dir / "other-key.pem", File::kKey, "does not match"},
      {dir / "cert.pem", dir / "enc-key.pem", File::kKey, "encrypted"},
  };
  for (const auto& c : cases) {
    auto loaded = load_tls_context(c.cert, c.key);
    ASSERT_FALSE(loaded.ok()) << c.cert << " " << c.key;
    EXPECT_EQ(loaded.error().file, c.file) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find(c.says), std::string::npos) << loaded.error().message;
  }
  EXPECT_EQ(ERR_peek_error(), 0u) << "no OpenSSL errors left queued for the next TLS call";
}

TEST(TlsContext, AnExpiredCertificateLoadsButSaysSo) {
  TempDir dir;
  const TestCert old = make_cert("old.test", 3, nullptr, false, "DNS:old.test", make_key(), -60);
  write_file(dir / "c.pem", old.pem());
  write_file(dir / "k.pem", old.key.pem());
  auto loaded = load_tls_context(dir / "c.pem", dir / "k.pem");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(loaded->info.expired);
  EXPECT_NE(loaded->info.describe().find("EXPIRED"), std::string::npos);
}

TEST(FileStamp, ChangesWithContentAndWithTheTargetOfALink) {
  TempDir dir;
  EXPECT_FALSE(stamp_file(dir / "missing").exists);
  write_file(dir / "a", "one");
  const FileStamp a1 = stamp_file(dir / "a");
  EXPECT_TRUE(a1.exists);
  EXPECT_EQ(a1.size, 3u);
  EXPECT_EQ(stamp_file(dir / "a"), a1);
  write_file(dir / "a", "three");  // in place: same inode, new size and time
  const FileStamp a2 = stamp_file(dir / "a");
  EXPECT_NE(a2, a1);
  EXPECT_EQ(a2.inode, a1.inode);
  replace_file(dir / "a", "three");  // same content, new file
  EXPECT_NE(stamp_file(dir / "a"), a2);

  // certbot: live/cert.pem -> ../archive/cert1.pem, then -> cert2.pem.
  fs::create_directories(dir.path / "archive");
  fs::create_directories(dir.path / "live");
  write_file(dir / "archive/cert1.pem", "same");
  write_file(dir / "archive/cert2.pem", "same");
  fs::create_symlink("../archive/cert1.pem", dir.path / "live/cert.pem");
  const FileStamp l1 = stamp_file(dir / "live/cert.pem");
  EXPECT_TRUE(l1.exists);
  EXPECT_EQ(l1.resolved, fs::canonical(dir.path / "archive/cert1.pem").string());
  fs::remove(dir.path / "live/cert.pem");
  fs::create_symlink("../archive/cert2.pem", dir.path / "live/cert.pem");
  const FileStamp l2 = stamp_file(dir / "live/cert.pem");
  EXPECT_NE(l2, l1);
  EXPECT_EQ(l2.resolved, fs::canonical(dir.path / "archive/cert2.pem").string());
  // A dangling link is a missing file.
  fs::remove(dir.path / "archive/cert2.pem");
  EXPECT_FALSE(stamp_file(dir / "live/cert.pem").exists);
}

FileStamp stamp(uint64_t inode, int64_t mtime = 1) {
  FileStamp s;
  s.exists = true;
  s.resolved = "/x";
  s.inode = inode;
  s.mtime_ns = mtime;
  return s;
}

TEST(ChangeDetector, ReloadsOnceAChangeHasSettledForOnePoll) {
  ChangeDetector d;
  const std::vector<FileStamp> v1 = {stamp(1), stamp(2)};
  d.read(v1);
  EXPECT_FALSE(d.poll(v1));
  EXPECT_FALSE(d.poll(v1));
  // The certificate changes, then the key a poll later: one reload, after both.
  const std::vector<FileStamp> cert_only = {stamp(3), stamp(2)};
  const std::vector<FileStamp> both = {stamp(3), stamp(4)};
  EXPECT_FALSE(d.poll(cert_only));
  EXPECT_FALSE(d.poll(both));
  EXPECT_TRUE(d.poll(both));
  d.read(both);
  EXPECT_FALSE(d.poll(both));
  // A file still growing is read once it stops.
  EXPECT_FALSE(d.poll({stamp(3, 2), stamp(4)}));
  EXPECT_FALSE(d.poll({stamp(3, 3), stamp(4)}));
  EXPECT_TRUE(d.poll({stamp(3, 3), stamp(4)}));
  d.read({stamp(3, 3), stamp(4)});
  // Changed and changed back before it settled: nothing to do.
  EXPECT_FALSE(d.poll({stamp(5), stamp(4)}));
  EXPECT_FALSE(d.poll({stamp(3, 3), stamp(4)}));
  EXPECT_FALSE(d.poll({stamp(3, 3), stamp(4)}));
  // After a read (even one that failed) the same files are not read again.
  const std::vector<FileStamp> bad = {stamp(6), stamp(4)};
  EXPECT_FALSE(d.poll(bad));
  EXPECT_TRUE(d.poll(bad));
  d.read(bad);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(d.poll(bad));
}

TEST(TlsContextProvider, ReloadsChangedFilesAndKeepsTheOldCertificateOnFailure) {
  TempDir dir;
  Pki pki;
  const TestCert first = pki.leaf(0x100);
  write_file(dir / "cert.pem", first.pem() + pki.intermediate.pem());
  write_file(dir / "key.pem", first.key.pem());
  auto opened = TlsContextProvider::open(dir / "cert.pem", dir / "key.pem");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  TlsContextProvider& p = *opened.value();
  const auto ctx1 = p.current();
  EXPECT_EQ(p.info().serial, "0100");
  EXPECT_FALSE(p.poll().has_value());

  // A new certificate and key: read once they have stayed put for a poll.
  const TestCert second = pki.leaf(0x200);
  replace_file(dir / "cert.pem", second.pem() + pki.intermediate.pem());
  replace_file(dir / "key.pem", second.key.pem());
  EXPECT_FALSE(p.poll().has_value());
  auto outcome = p.poll();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok()) << outcome->message();
  EXPECT_EQ(p.info().serial, "0200");
  EXPECT_EQ(p.reloads(), 1u);
  const auto ctx2 = p.current();
  EXPECT_NE(ctx2, ctx1);
  // A connection that started on the old context still works with it.
  EXPECT_EQ(handshake(ctx1->native_handle(), pki.root.cert.get()).peer_serial, "0100");
  EXPECT_EQ(handshake(ctx2->native_handle(), pki.root.cert.get()).peer_serial, "0200");

  // A key that does not match: an error, and the second certificate stays.
  const TestCert third = pki.leaf(0x300);
  replace_file(dir / "cert.pem", third.pem());
  EXPECT_FALSE(p.poll().has_value());
  outcome = p.poll();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->ok());
  EXPECT_NE(outcome->message().find("does not match"), std::string::npos);
  EXPECT_EQ(p.current(), ctx2);
  EXPECT_EQ(p.info().serial, "0200");
  EXPECT_FALSE(p.poll().has_value()) << "a failed read is not retried until the files change";

  // Bad PEM, forced (SIGHUP): refused as well.
  replace_file(dir / "key.pem",
               "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
  EXPECT_FALSE(p.reload("SIGHUP").ok());
  EXPECT_EQ(p.current(), ctx2);

  // The matching key arrives: the third certificate is served.
  replace_file(dir / "key.pem", third.key.pem());
  EXPECT_TRUE(p.reload("SIGHUP").ok());
  EXPECT_EQ(p.info().serial, "0300");
  EXPECT_EQ(p.reloads(), 2u);
  EXPECT_FALSE(p.poll().has_value());
  EXPECT_FALSE(p.poll().has_value());
}

TEST(TlsContextProvider, FollowsCertbotsSymlinkSwap) {
  TempDir dir;
  Pki pki;
  fs::create_directories(dir.path / "archive");
  fs::create_directories(dir.path / "live");
  const TestCert c1 = pki.leaf(0x11), c2 = pki.leaf(0x22);
  write_file(dir / "archive/fullchain1.pem", c1.pem() + pki.intermediate.pem());
  write_file(dir / "archive/privkey1.pem", c1.key.pem());
  fs::create_symlink("../archive/fullchain1.pem", dir.path / "live/fullchain.pem");
  fs::create_symlink("../archive/privkey1.pem", dir.path / "live/privkey.pem");
  auto opened = TlsContextProvider::open(dir / "live/fullchain.pem", dir / "live/privkey.pem");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  TlsContextProvider& p = *opened.value();
  EXPECT_EQ(p.info().serial, "11");
  // Renewal: new files in archive/, the links re-pointed (renamed into place).
  write_file(dir / "archive/fullchain2.pem", c2.pem() + pki.intermediate.pem());
  write_file(dir / "archive/privkey2.pem", c2.key.pem());
  for (const char* name : {"fullchain", "privkey"}) {
    const fs::path link = dir.path / "live" / (std::string(name) + ".pem");
    const fs::path tmp = dir.path / "live" / (std::string(name) + ".tmp");
    fs::create_symlink("../archive/" + std::string(name) + "2.pem", tmp);
    fs::rename(tmp, link);
  }
  EXPECT_FALSE(p.poll().has_value());
  auto outcome = p.poll();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok()) << outcome->message();
  EXPECT_EQ(p.info().serial, "22");
}

}  // namespace
}  // namespace lss::http
