#pragma once
// One direction of SRTP/SRTCP for one peer (RFC 3711, RFC 7714 AEAD-GCM) on
// OpenSSL, protecting or unprotecting packets in place. Per-packet calls
// allocate nothing and take no lock.
#include <memory>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/srtp_profile.hpp"

namespace lss {

class SrtpSession {
 public:
  enum class Direction { kInbound, kOutbound };
  // Most bytes protect adds: SRTCP index (4) + the longest tag (16).
  static constexpr size_t kMaxTrailer = 4 + 16;

  // `master` is key || salt for this direction (srtp_key_length + srtp_salt_length bytes).
  static Result<std::unique_ptr<SrtpSession>> create(SrtpProfile profile, ByteSpan master,
                                                     Direction direction);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // `len` is updated; `capacity` must leave kMaxTrailer bytes after the packet.
  lss::Status protect_rtp(uint8_t* data, size_t& len, size_t capacity);
  lss::Status protect_rtcp(uint8_t* data, size_t& len, size_t capacity);
  // Authentication or replay failures are errors; the packet must be dropped.
  lss::Status unprotect_rtp(uint8_t* data, size_t& len);
  lss::Status unprotect_rtcp(uint8_t* data, size_t& len);

  SrtpProfile profile() const { return profile_; }

 private:
  SrtpSession(SrtpProfile profile, void* session) : profile_(profile), session_(session) {}
  SrtpProfile profile_;
  void* session_;  // the implementation's state, kept opaque
};

}  // namespace lss
