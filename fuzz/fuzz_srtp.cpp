// SRTP and SRTCP from the network reach unprotect before anything is
// authenticated: header parsing (CSRCs, extensions, padding, SRTCP index)
// must hold for any bytes, for every profile. protect gets the same bytes as
// an outbound packet would (the SFU only protects packets it parsed).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/srtp_profile.hpp"
#include "srtp/srtp_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const lss::SrtpProfile kProfiles[] = {
      lss::SrtpProfile::kAes128CmSha1_80, lss::SrtpProfile::kAes128CmSha1_32,
      lss::SrtpProfile::kAeadAes128Gcm, lss::SrtpProfile::kAeadAes256Gcm};
  const lss::SrtpProfile profile = kProfiles[data[0] % 4];
  const bool rtcp = data[0] & 4;
  const bool outbound = data[0] & 8;
  ++data;
  --size;
  uint8_t master[64] = {};
  for (size_t i = 0; i < sizeof master; ++i) master[i] = uint8_t(i * 13 + 7);
  const size_t master_len = lss::srtp_key_length(profile) + lss::srtp_salt_length(profile);
  auto session = lss::SrtpSession::create(
      profile, lss::ByteSpan(master, master_len),
      outbound ? lss::SrtpSession::Direction::kOutbound : lss::SrtpSession::Direction::kInbound);
  if (!session.ok()) return 0;
  std::vector<uint8_t> buf(size + lss::SrtpSession::kMaxTrailer);
  std::memcpy(buf.data(), data, size);
  size_t len = size;
  if (outbound) {
    (void)(rtcp ? (*session)->protect_rtcp(buf.data(), len, buf.size())
                : (*session)->protect_rtp(buf.data(), len, buf.size()));
  } else {
    (void)(rtcp ? (*session)->unprotect_rtcp(buf.data(), len)
                : (*session)->unprotect_rtp(buf.data(), len));
  }
  return 0;
}
