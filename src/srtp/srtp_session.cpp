#include "srtp/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <mutex>
#include <string>

namespace lss {

namespace {
std::once_flag g_init;
bool g_init_ok = false;

bool set_policy(SrtpProfile p, srtp_crypto_policy_t& rtp, srtp_crypto_policy_t& rtcp) {
  switch (p) {
    case SrtpProfile::kAes128CmSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&rtcp);
      return true;
    case SrtpProfile::kAes128CmSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&rtcp);  // RFC 5764: SRTCP keeps 80
      return true;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&rtcp);
      return true;
    case SrtpProfile::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&rtcp);
      return true;
  }
  return false;
}

lss::Status check(srtp_err_status_t st, const char* what) {
  if (st == srtp_err_status_ok) return {};
  return make_error(std::string(what) + " failed (libsrtp error " + std::to_string(int(st)) + ")");
}
}  // namespace

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(SrtpProfile profile, ByteSpan master,
                                                         Direction direction) {
  std::call_once(g_init, [] { g_init_ok = srtp_init() == srtp_err_status_ok; });
  if (!g_init_ok) return make_error("libsrtp initialisation failed");
  if (master.size() != srtp_key_length(profile) + srtp_salt_length(profile)) {
    return make_error("SRTP master key+salt has the wrong length");
  }
  srtp_policy_t policy{};
  if (!set_policy(profile, policy.rtp, policy.rtcp)) return make_error("unknown SRTP profile");
  policy.ssrc.type = direction == Direction::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = const_cast<uint8_t*>(master.data());
  policy.window_size = 1024;
  // Retransmissions answer NACKs with the same sequence number: allow them.
  policy.allow_repeat_tx = direction == Direction::kOutbound ? 1 : 0;
  policy.next = nullptr;
  srtp_t session = nullptr;
  if (auto st = srtp_create(&session, &policy); st != srtp_err_status_ok) {
    return make_error("srtp_create failed (libsrtp error " + std::to_string(int(st)) + ")");
  }
  return std::unique_ptr<SrtpSession>(new SrtpSession(profile, session));
}

SrtpSession::~SrtpSession() {
  srtp_dealloc(static_cast<srtp_t>(session_));
}

lss::Status SrtpSession::protect_rtp(uint8_t* data, size_t& len, size_t capacity) {
  if (len < 12 || len + kMaxTrailer > capacity) return make_error("no room for the SRTP trailer");
  int n = int(len);
  auto st = srtp_protect(static_cast<srtp_t>(session_), data, &n);
  if (st == srtp_err_status_ok) len = size_t(n);
  return check(st, "srtp_protect");
}

lss::Status SrtpSession::protect_rtcp(uint8_t* data, size_t& len, size_t capacity) {
  if (len < 8 || len + kMaxTrailer > capacity) return make_error("no room for the SRTCP trailer");
  int n = int(len);
  auto st = srtp_protect_rtcp(static_cast<srtp_t>(session_), data, &n);
  if (st == srtp_err_status_ok) len = size_t(n);
  return check(st, "srtp_protect_rtcp");
}

lss::Status SrtpSession::unprotect_rtp(uint8_t* data, size_t& len) {
  if (len < 12) return make_error("SRTP packet too short");
  int n = int(len);
  auto st = srtp_unprotect(static_cast<srtp_t>(session_), data, &n);
  if (st == srtp_err_status_ok) len = size_t(n);
  return check(st, "srtp_unprotect");
}

lss::Status SrtpSession::unprotect_rtcp(uint8_t* data, size_t& len) {
  if (len < 8) return make_error("SRTCP packet too short");
  int n = int(len);
  auto st = srtp_unprotect_rtcp(static_cast<srtp_t>(session_), data, &n);
  if (st == srtp_err_status_ok) len = size_t(n);
  return check(st, "srtp_unprotect_rtcp");
}

}  // namespace lss
