#include "dtls/dtls_transport.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>

namespace lss {

namespace {
constexpr int kMtu = 1200;
constexpr size_t kMaxOutgoing = 64;  // datagrams queued before the caller drains them
// Largest record payload we send. OpenSSL sizes each connection's write
// buffer for it and keeps that buffer for the connection's life (for DTLS,
// SSL_MODE_RELEASE_BUFFERS is ignored): at the default 16 KB that is 16.6 KB
// per viewer, of which we use a few hundred bytes. Handshake records are
// fragmented to the MTU anyway, and application data is SCTP packets of at
// most 1195 bytes (RFC 8261 §5, see sctp_association.cpp). Larger writes are
// refused before OpenSSL sees them (it would fail the connection).
constexpr size_t kMaxSendFragment = 1500;

// The datagram BIO, both ends of the SSL: each BIO_write becomes one
// outgoing datagram, and reads take the datagram being handled straight from
// the caller's buffer (a BIO_s_mem copied it and kept a 0.75 KB buffer per
// connection).
BIO_METHOD* datagram_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lss-dtls");
    BIO_meth_set_write(m, [](BIO* b, const char* data, int len) -> int {
      auto* t = static_cast<DtlsTransport*>(BIO_get_data(b));
      if (len <= 0) return 0;
      t->push_outgoing(reinterpret_cast<const uint8_t*>(data), size_t(len));
      return len;
    });
    BIO_meth_set_read(m, [](BIO* b, char* out, int len) -> int {
      BIO_clear_retry_flags(b);
      auto* t = static_cast<DtlsTransport*>(BIO_get_data(b));
      const size_t n = len > 0 ? t->pull_incoming(reinterpret_cast<uint8_t*>(out), size_t(len)) : 0;
      if (n == 0) {
        BIO_set_retry_read(b);  // nothing more until the next datagram
        return -1;
      }
      return int(n);
    });
    BIO_meth_set_ctrl(m, [](BIO* b, int cmd, long, void*) -> long {
      switch (cmd) {
        case BIO_CTRL_FLUSH:
          return 1;
        case BIO_CTRL_DGRAM_QUERY_MTU:
          return kMtu;
        case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
          return 28;  // IPv4 + UDP
        case BIO_CTRL_PENDING:
          return long(static_cast<DtlsTransport*>(BIO_get_data(b))->incoming_size());
        case BIO_CTRL_WPENDING:
          return 0;
        default:
          return 0;
      }
    });
    BIO_meth_set_create(m, [](BIO* b) -> int {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

bool equal_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}
}  // namespace

bool looks_like_dtls(ByteSpan d) {
  return d.size() >= 13 && d[0] >= 20 && d[0] <= 63;
}

Result<std::vector<DtlsRecordView>> split_dtls_records(ByteSpan d) {
  std::vector<DtlsRecordView> out;
  ByteReader r(d);
  while (!r.empty()) {
    DtlsRecordView v;
    v.content_type = r.u8();
    v.version = r.u16();
    v.epoch = r.u16();
    v.sequence = uint64_t(r.u16()) << 32 | r.u32();
    const uint16_t len = r.u16();
    v.fragment = r.bytes(len);
    if (!r.ok()) return make_error("truncated DTLS record");
    if (v.content_type < 20 || v.content_type > 63) return make_error("bad DTLS content type");
    if ((v.version >> 8) != 0xFE) return make_error("not a DTLS version");
    out.push_back(v);
    if (out.size() > 32) return make_error("too many DTLS records in one datagram");
  }
  if (out.empty()) return make_error("empty DTLS datagram");
  return out;
}

namespace {

SSL_CTX* new_context(const DtlsCertificate& cert, const std::string& srtp_profiles,
                     std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  if (!ctx) {
    error = "SSL_CTX_new failed: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx, cert.x509()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, cert.key()) != 1) {
    error = "cannot use the DTLS certificate: " + openssl_errors();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  // Self-signed on both sides: accept here, check the SDP fingerprint after.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     [](int, X509_STORE_CTX*) { return 1; });
  SSL_CTX_set_cipher_list(ctx, "DEFAULT:!NULL:!aNULL:!SHA256:!SHA384:!aECDH:!AESGCM+AES256:!aPSK");
  // Returns 0 on success (sic).
  if (SSL_CTX_set_tlsext_use_srtp(ctx, srtp_profiles.c_str()) != 0) {
    error = "bad SRTP profile list: " + openssl_errors();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_read_ahead(ctx, 1);
  // The context is shared by every peer: no session may be resumed across
  // peers (WebRTC endpoints never resume anyway).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_max_send_fragment(ctx, kMaxSendFragment);
  // Empty fragments are a TLS 1.0 CBC countermeasure that DTLS 1.2 never
  // uses; without this OpenSSL still reserves room for one in the write buffer.
  SSL_CTX_set_options(ctx, SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS);
  return ctx;
}

// One SSL_CTX per (certificate, SRTP profiles), shared by every transport:
// making one per peer cost more CPU than the rest of a peer's setup
// (OpenSSL 3 fetches its algorithms again for each) and tens of KB of memory
// per viewer. SSL_new on a shared context is thread-safe. Returns a new
// reference for the caller to free.
SSL_CTX* shared_context(const std::shared_ptr<DtlsCertificate>& cert,
                        const std::string& srtp_profiles, std::string& error) {
  struct Entry {
    std::weak_ptr<DtlsCertificate> cert;  // an address reused by a new certificate is not it
    SSL_CTX* ctx = nullptr;
  };
  static std::mutex mutex;
  // Deliberately never destroyed (contexts live as long as the process), and
  // reachable from a static pointer, so leak checkers see no leak.
  static auto* cache = new std::map<std::pair<const DtlsCertificate*, std::string>, Entry>();
  std::lock_guard lock(mutex);
  Entry& e = (*cache)[{cert.get(), srtp_profiles}];
  if (e.ctx && e.cert.lock() != cert) {
    SSL_CTX_free(e.ctx);
    e.ctx = nullptr;
  }
  if (!e.ctx) {
    e.ctx = new_context(*cert, srtp_profiles, error);
    if (!e.ctx) return nullptr;
    e.cert = cert;
  }
  SSL_CTX_up_ref(e.ctx);
  return e.ctx;
}

}  // namespace

DtlsTransport::DtlsTransport(std::shared_ptr<DtlsCertificate> cert, Role role,
                             std::string remote_fp_alg, std::string remote_fp,
                             std::string srtp_profiles)
    : cert_(std::move(cert)),
      role_(role),
      remote_fp_alg_(std::move(remote_fp_alg)),
      remote_fp_(std::move(remote_fp)) {
  std::string error;
  ctx_ = shared_context(cert_, srtp_profiles, error);
  if (!ctx_) {
    fail(error);
    return;
  }
  openssl_memory::BlockOwner::Scope scope(buffers_);
  ssl_ = SSL_new(ctx_);
  if (!ssl_) {
    fail("SSL_new failed: " + openssl_errors());
    return;
  }
  BIO* bio = BIO_new(datagram_bio_method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // takes the one reference
  SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(ssl_, kMtu);
  DTLS_set_link_mtu(ssl_, kMtu);
  if (role_ == Role::kClient) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

DtlsTransport::~DtlsTransport() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
}

size_t DtlsTransport::pull_incoming(uint8_t* out, size_t max) {
  const size_t n = std::min(max, incoming_.size());
  if (n == 0) return 0;  // an empty span's data() may be null
  std::memcpy(out, incoming_.data(), n);
  incoming_ = incoming_.subspan(n);
  return n;
}

void DtlsTransport::push_outgoing(const uint8_t* data, size_t size) {
  if (outgoing_.size() < kMaxOutgoing) outgoing_.emplace_back(data, data + size);
}

std::vector<Bytes> DtlsTransport::take_outgoing() {
  return std::exchange(outgoing_, {});
}
std::vector<Bytes> DtlsTransport::take_received_application_data() {
  return std::exchange(received_, {});
}

void DtlsTransport::fail(std::string why) {
  state_ = State::kFailed;
  error_ = std::move(why);
  ERR_clear_error();
}

void DtlsTransport::start(Timestamp) {
  if (state_ != State::kNew) return;
  state_ = State::kConnecting;
  if (role_ == Role::kClient) advance();
}

void DtlsTransport::advance() {
  openssl_memory::BlockOwner::Scope scope(buffers_);
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return on_handshake_done();
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  fail("DTLS handshake failed: " + openssl_errors());
}

void DtlsTransport::handle_datagram(ByteSpan data, Timestamp) {
  if (state_ == State::kFailed || state_ == State::kClosed || !ssl_) return;
  if (!split_dtls_records(data).ok()) return;  // not DTLS: ignore, do not fail the peer
  if (state_ == State::kNew) state_ = State::kConnecting;
  // OpenSSL reads the datagram through the BIO during these calls only;
  // whatever it did not consume is dropped.
  incoming_ = data;
  if (state_ == State::kConnecting) advance();
  if (state_ == State::kConnected) read_application_data();
  incoming_ = {};
  release_idle_buffers();
}

// Between two datagrams of an established connection OpenSSL's handshake
// buffer and record read buffer hold nothing: the handshake is over (a
// retransmitted Finished flight is answered from separately kept copies,
// which init_buf is only a scratch space for), and every record of the
// datagram has been read. Their pages go back to the kernel; the next
// datagram touches one page of the read buffer again.
void DtlsTransport::release_idle_buffers() {
  if (state_ != State::kConnected || SSL_has_pending(ssl_)) return;
  buffers_.release_pages();
}

void DtlsTransport::read_application_data() {
  openssl_memory::BlockOwner::Scope scope(buffers_);
  uint8_t buf[4096];
  for (int i = 0; i < 64; ++i) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      received_.emplace_back(buf, buf + n);
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_ZERO_RETURN) {
      state_ = State::kClosed;  // close_notify from the peer
    } else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      fail("DTLS read failed: " + openssl_errors());
    }
    break;
  }
}

void DtlsTransport::on_handshake_done() {
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) return fail("peer sent no certificate");
  auto fp = certificate_fingerprint(peer, remote_fp_alg_);
  X509_free(peer);
  if (!fp.ok()) return fail(fp.error().message);
  if (!equal_ignore_case(fp.value(), remote_fp_)) {
    return fail("peer certificate does not match the SDP fingerprint");
  }
  const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl_);
  if (!p) return fail("no SRTP profile negotiated");
  SrtpProfile profile;
  switch (p->id) {
    case SRTP_AES128_CM_SHA1_80:
      profile = SrtpProfile::kAes128CmSha1_80;
      break;
    case SRTP_AES128_CM_SHA1_32:
      profile = SrtpProfile::kAes128CmSha1_32;
      break;
    case SRTP_AEAD_AES_128_GCM:
      profile = SrtpProfile::kAeadAes128Gcm;
      break;
    case SRTP_AEAD_AES_256_GCM:
      profile = SrtpProfile::kAeadAes256Gcm;
      break;
    default:
      return fail("unsupported SRTP profile");
  }
  const size_t k = srtp_key_length(profile), s = srtp_salt_length(profile);
  Bytes m(2 * (k + s));
  static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, m.data(), m.size(), kLabel, sizeof kLabel - 1, nullptr, 0,
                                 0) != 1) {
    return fail("SRTP key export failed");
  }
  // RFC 5764 §4.2: client key | server key | client salt | server salt.
  auto part = [&](size_t off, size_t n) {
    return Bytes(m.begin() + ptrdiff_t(off), m.begin() + ptrdiff_t(off + n));
  };
  Bytes client = part(0, k), server = part(k, k);
  Bytes client_salt = part(2 * k, s), server_salt = part(2 * k + s, s);
  client.insert(client.end(), client_salt.begin(), client_salt.end());
  server.insert(server.end(), server_salt.begin(), server_salt.end());
  SrtpKeyMaterial km{profile, {}, {}};
  km.local_master = role_ == Role::kClient ? client : server;
  km.remote_master = role_ == Role::kClient ? server : client;
  keys_ = std::move(km);
  state_ = State::kConnected;
}

std::optional<Timestamp> DtlsTransport::next_timeout(Timestamp now) const {
  if (!ssl_ || state_ != State::kConnecting) return std::nullopt;
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_, &tv) != 1) return std::nullopt;
  return now + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

void DtlsTransport::handle_timeout(Timestamp) {
  if (!ssl_ || state_ != State::kConnecting) return;
  openssl_memory::BlockOwner::Scope scope(buffers_);
  if (DTLSv1_handle_timeout(ssl_) < 0) fail("DTLS handshake timed out");
}

lss::Status DtlsTransport::send_application_data(ByteSpan data) {
  if (state_ != State::kConnected) return make_error("DTLS not connected");
  if (data.size() > kMaxSendFragment) return make_error("DTLS record too large");
  openssl_memory::BlockOwner::Scope scope(buffers_);
  if (SSL_write(ssl_, data.data(), int(data.size())) <= 0) {
    return make_error("DTLS write failed: " + openssl_errors());
  }
  return {};
}

void DtlsTransport::close() {
  if (ssl_ && (state_ == State::kConnected || state_ == State::kConnecting)) {
    openssl_memory::BlockOwner::Scope scope(buffers_);
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (state_ != State::kFailed) state_ = State::kClosed;
}

}  // namespace lss
