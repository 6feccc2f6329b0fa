#pragma once
// The server's DTLS identity: an ECDSA P-256 self-signed certificate made at
// start, and its SHA-256 fingerprint for `a=fingerprint` (RFC 8122).
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace lss {

class DtlsCertificate {
 public:
  static Result<std::shared_ptr<DtlsCertificate>> generate();
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  const std::string& fingerprint_sha256() const { return fingerprint_; }  // "AB:CD:..."
  X509* x509() const { return x509_; }
  EVP_PKEY* key() const { return key_; }

 private:
  DtlsCertificate(X509* x509, EVP_PKEY* key, std::string fingerprint)
      : x509_(x509), key_(key), fingerprint_(std::move(fingerprint)) {}
  X509* x509_;
  EVP_PKEY* key_;
  std::string fingerprint_;
};

// "AB:CD:..." fingerprint of `cert` with an SDP hash name: sha-1, sha-224,
// sha-256, sha-384 or sha-512.
Result<std::string> certificate_fingerprint(X509* cert, std::string_view algorithm);

}  // namespace lss
