#pragma once
// DTLS 1.2 with the use_srtp extension (RFC 5764) on OpenSSL, sans-I/O:
// datagrams in, datagrams out. Records go through a custom BIO that keeps
// each datagram OpenSSL writes separate. The peer's certificate is checked
// against the fingerprint from its SDP once the handshake completes.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/srtp_profile.hpp"
#include "common/time.hpp"
#include "dtls/dtls_certificate.hpp"
#include "dtls/openssl_memory.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace lss {

struct SrtpKeyMaterial {
  SrtpProfile profile;
  Bytes local_master;   // key || salt protecting what we send
  Bytes remote_master;  // key || salt for what we receive
};

// RFC 7983: DTLS records start with a content type byte in 20..63.
bool looks_like_dtls(ByteSpan data);

struct DtlsRecordView {
  uint8_t content_type;
  uint16_t version;
  uint16_t epoch;
  uint64_t sequence;  // 48 bits
  ByteSpan fragment;
};
// Splits a datagram into DTLS records, checking every length.
Result<std::vector<DtlsRecordView>> split_dtls_records(ByteSpan datagram);

class DtlsTransport {
 public:
  enum class Role { kClient, kServer };
  enum class State { kNew, kConnecting, kConnected, kClosed, kFailed };

  // `srtp_profiles` in OpenSSL syntax; by default AES-128-GCM is preferred
  // and AES128_CM_SHA1_80 (mandatory to implement) accepted.
  DtlsTransport(std::shared_ptr<DtlsCertificate> cert, Role role,
                std::string remote_fingerprint_algorithm, std::string remote_fingerprint,
                std::string srtp_profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  void start(Timestamp now);  // a client sends its ClientHello
  void handle_datagram(ByteSpan data, Timestamp now);
  std::vector<Bytes> take_outgoing();
  // OpenSSL keeps its own retransmission clock; these map it onto ours.
  std::optional<Timestamp> next_timeout(Timestamp now) const;
  std::optional<Timestamp> next_timeout() const { return next_timeout(Clock::now()); }
  void handle_timeout(Timestamp now);

  lss::Status send_application_data(ByteSpan data);
  std::vector<Bytes> take_received_application_data();

  void close();  // close_notify

  State state() const { return state_; }
  Role role() const { return role_; }
  const std::string& error() const { return error_; }
  const std::optional<SrtpKeyMaterial>& srtp_keys() const { return keys_; }
  // OpenSSL's large buffers of this connection, for measurements and tests.
  const openssl_memory::BlockOwner& openssl_buffers() const { return buffers_; }

  // Used by the custom BIO.
  void push_outgoing(const uint8_t* data, size_t size);
  size_t pull_incoming(uint8_t* out, size_t max);
  size_t incoming_size() const { return incoming_.size(); }

 private:
  void fail(std::string why);
  void advance();
  void on_handshake_done();
  void read_application_data();
  void release_idle_buffers();

  std::shared_ptr<DtlsCertificate> cert_;
  Role role_;
  std::string remote_fp_alg_, remote_fp_;
  // OpenSSL's large buffers of this connection (see openssl_memory.hpp).
  openssl_memory::BlockOwner buffers_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  State state_ = State::kNew;
  std::string error_;
  ByteSpan incoming_;  // the datagram being handled, during handle_datagram only
  std::vector<Bytes> outgoing_;
  std::vector<Bytes> received_;
  std::optional<SrtpKeyMaterial> keys_;
};

}  // namespace lss
