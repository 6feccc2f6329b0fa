#include "dtls/dtls_certificate.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cctype>

namespace lss {

namespace {
const EVP_MD* digest_for(std::string_view alg) {
  std::string a;
  for (char c : alg) a.push_back(char(std::tolower(static_cast<unsigned char>(c))));
  if (a == "sha-1") return EVP_sha1();
  if (a == "sha-224") return EVP_sha224();
  if (a == "sha-256") return EVP_sha256();
  if (a == "sha-384") return EVP_sha384();
  if (a == "sha-512") return EVP_sha512();
  return nullptr;
}
}  // namespace

Result<std::string> certificate_fingerprint(X509* cert, std::string_view algorithm) {
  const EVP_MD* md = digest_for(algorithm);
  if (!md) return make_error("unsupported fingerprint hash '" + std::string(algorithm) + "'");
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!X509_digest(cert, md, buf, &len)) return make_error("X509_digest failed");
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[buf[i] >> 4]);
    out.push_back(kHex[buf[i] & 15]);
  }
  return out;
}

Result<std::shared_ptr<DtlsCertificate>> DtlsCertificate::generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) return make_error("cannot generate an ECDSA P-256 key");
  X509* x = X509_new();
  if (!x) {
    EVP_PKEY_free(key);
    return make_error("X509_new failed");
  }
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  X509_set_version(x, 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -30L * 24 * 3600);  // tolerate skewed clocks
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("live-stream-server"), -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  if (!X509_sign(x, key, EVP_sha256())) {
    X509_free(x);
    EVP_PKEY_free(key);
    return make_error("cannot self-sign the DTLS certificate");
  }
  auto fp = certificate_fingerprint(x, "sha-256");
  if (!fp.ok()) {
    X509_free(x);
    EVP_PKEY_free(key);
    return fp.error();
  }
  return std::shared_ptr<DtlsCertificate>(new DtlsCertificate(x, key, fp.value()));
}

DtlsCertificate::~DtlsCertificate() {
  X509_free(x509_);
  EVP_PKEY_free(key_);
}

}  // namespace lss
