#include "sfu/session_etag.hpp"

#include <openssl/evp.h>

#include <array>

namespace lss::sfu {

std::string session_etag(std::string_view session_id, std::string_view local_ice_ufrag) {
  std::string input;
  input.reserve(session_id.size() + local_ice_ufrag.size() + 1);
  input.append(session_id).append(":").append(local_ice_ufrag);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (size_t i = 0; i < 10 && i < len; ++i) {
    tag += kHex[md[i] >> 4];
    tag += kHex[md[i] & 15];
  }
  tag += '"';
  return tag;
}

}  // namespace lss::sfu
