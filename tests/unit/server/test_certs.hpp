#pragma once
// Test certificates made in memory with OpenSSL: a root CA, intermediates,
// leaves with a chosen serial and subjectAltName, as PEM text.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace lss::test {

struct TestKey {
  std::shared_ptr<EVP_PKEY> key;
  std::string pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return drain(bio);
  }
  std::string encrypted_pem(const char* pass) const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                  const_cast<char*>(pass));
    return drain(bio);
  }
  static std::string drain(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, size_t(n));
    BIO_free(bio);
    return out;
  }
};

inline TestKey make_key(bool rsa = false) {
  EVP_PKEY* k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  if (!k) throw std::runtime_error("key generation failed");
  return {std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free)};
}

struct TestCert {
  std::shared_ptr<X509> cert;
  TestKey key;
  std::string pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert.get());
    return TestKey::drain(bio);
  }
};

// Signed by `issuer` (self-signed when null). `san`: e.g. "DNS:live.test".
inline TestCert make_cert(const std::string& cn, long serial, const TestCert* issuer,
                          bool ca = false, const std::string& san = "", TestKey key = make_key(),
                          long valid_seconds = 86400) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), valid_seconds > 0 ? -3600 : 2 * valid_seconds);
  X509_gmtime_adj(X509_getm_notAfter(x), valid_seconds);
  X509_set_pubkey(x, key.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer_cert, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!san.empty()) add(NID_subject_alt_name, san.c_str());
  X509_sign(x, issuer ? issuer->key.key.get() : key.key.get(), EVP_sha256());
  return {std::shared_ptr<X509>(x, X509_free), std::move(key)};
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// Replaces `p` by a new file (a new inode), as certbot or `mv` would.
inline void replace_file(const std::filesystem::path& p, const std::string& text) {
  auto tmp = p;
  tmp += ".new";
  write_file(tmp, text);
  std::filesystem::rename(tmp, p);
}

// A fresh folder under the temp dir, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lss-tls-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

}  // namespace lss::test
