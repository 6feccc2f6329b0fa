#include "http/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lss::http {
namespace ssl = boost::asio::ssl;

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// TLS 1.2 suites: ECDHE key exchange with an AEAD (Mozilla's "intermediate"
// list); TLS 1.3 keeps OpenSSL's defaults, which are all of that kind.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Never prompt on the terminal for a pass phrase (OpenSSL's default).
int no_pass_phrase(char*, int, int, void*) {
  return -1;
}

// The reason of the oldest queued OpenSSL error, and an empty queue.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_error();
  std::string out;
  if (code != 0) {
    const char* r = ERR_reason_error_string(code);
    out = r ? r : "OpenSSL error " + std::to_string(code);
  }
  ERR_clear_error();
  return out;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = path + " is a directory, not a PEM file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string name_string(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

CertificateInfo describe_certificate(X509* leaf, size_t chain_length) {
  CertificateInfo info;
  info.chain_length = chain_length;
  info.subject = name_string(X509_get_subject_name(leaf));
  info.issuer = name_string(X509_get_issuer_name(leaf));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  if (BioPtr bio{BIO_new(BIO_s_mem())};
      bio && ASN1_TIME_print(bio.get(), X509_get0_notAfter(leaf))) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    info.not_after.assign(data, size_t(n));
  }
  info.expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      if (gn->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = gn->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  size_t(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
  }
  ERR_clear_error();
  return info;
}

}  // namespace

std::string CertificateInfo::describe() const {
  std::string out = subject.empty() ? std::string("(no subject)") : subject;
  if (!dns_names.empty()) {
    out += " for";
    for (size_t i = 0; i < dns_names.size(); ++i) out += (i ? ", " : " ") + dns_names[i];
  }
  out += ", serial " + serial + ", issued by " + issuer + ", expires " + not_after;
  if (expired) out += " (EXPIRED)";
  if (chain_length > 1) out += ", " + std::to_string(chain_length - 1) + " more in the chain";
  return out;
}

Result<LoadedTls, TlsLoadError> load_tls_context(const std::string& cert_path,
                                                 const std::string& key_path) {
  using File = TlsLoadError::File;
  auto cert_error = [](std::string m) { return TlsLoadError{File::kCert, std::move(m)}; };
  auto key_error = [](std::string m) { return TlsLoadError{File::kKey, std::move(m)}; };
  ERR_clear_error();

  std::string cert_pem, key_pem, error;
  if (!read_file(cert_path, cert_pem, error)) return cert_error(error);
  if (!read_file(key_path, key_pem, error)) return key_error(error);

  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return cert_error(std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_ALL | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1)
    return cert_error("cannot set the TLS 1.2 ciphers: " + openssl_reason());
  SSL_CTX_set_default_passwd_cb(raw, no_pass_phrase);

  // The certificate chain: the leaf, then the intermediates, in one file.
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), int(cert_pem.size())));
  X509Ptr leaf(PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, no_pass_phrase, nullptr));
  if (!leaf) {
    const std::string why = openssl_reason();
    return cert_error("no PEM certificate in " + cert_path + (why.empty() ? "" : " (" + why + ")"));
  }
  if (SSL_CTX_use_certificate(raw, leaf.get()) != 1)
    return cert_error("the certificate in " + cert_path + " cannot be used: " + openssl_reason());
  SSL_CTX_clear_chain_certs(raw);
  size_t chain_length = 1;
  for (;;) {
    X509Ptr next(PEM_read_bio_X509(cert_bio.get(), nullptr, no_pass_phrase, nullptr));
    if (!next) {
      const unsigned long code = ERR_peek_last_error();
      if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the end of the file
        break;
      }
      return cert_error("certificate " + std::to_string(chain_length + 1) + " in " + cert_path +
                        " is malformed: " + openssl_reason());
    }
    if (SSL_CTX_add0_chain_cert(raw, next.get()) != 1)
      return cert_error("cannot add certificate " + std::to_string(chain_length + 1) + " of " +
                        cert_path + " to the chain: " + openssl_reason());
    next.release();  // owned by the context now
    ++chain_length;
  }

  // The private key, which must be the leaf's.
  if (key_pem.find("ENCRYPTED") != std::string::npos)
    return key_error(key_path + " is encrypted: give an unencrypted key (e.g. `openssl pkey -in " +
                     key_path + " -out key.pem`)");
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), int(key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_pass_phrase, nullptr));
  if (!key) {
    const std::string why = openssl_reason();
    return key_error("no PEM private key in " + key_path + (why.empty() ? "" : " (" + why + ")"));
  }
  if (SSL_CTX_use_PrivateKey(raw, key.get()) != 1 || SSL_CTX_check_private_key(raw) != 1) {
    ERR_clear_error();
    return key_error("the private key in " + key_path + " does not match the certificate in " +
                     cert_path);
  }
  return LoadedTls{std::move(ctx), describe_certificate(leaf.get(), chain_length)};
}

FileStamp stamp_file(const std::string& path) {
  FileStamp s;
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(path, ec);  // follows every link
  if (ec) return s;
  s.resolved = resolved.string();
  struct stat st {};
  if (::stat(s.resolved.c_str(), &st) != 0) return s;
  s.exists = true;
  s.device = uint64_t(st.st_dev);
  s.inode = uint64_t(st.st_ino);
  s.size = uint64_t(st.st_size);
  s.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

void ChangeDetector::read(std::vector<FileStamp> stamps) {
  read_ = std::move(stamps);
  pending_.reset();
}

bool ChangeDetector::poll(const std::vector<FileStamp>& now) {
  if (now == read_) {
    pending_.reset();  // changed and changed back: nothing to do
    return false;
  }
  if (pending_ && *pending_ == now) {
    pending_.reset();
    return true;  // changed, and settled since the last poll
  }
  pending_ = now;  // changed (or still changing): look again next poll
  return false;
}

TlsContextProvider::TlsContextProvider(std::string cert_path, std::string key_path,
                                       LoadedTls loaded, std::vector<FileStamp> stamps)
    : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)), loaded_(std::move(loaded)) {
  detector_.read(std::move(stamps));
}

Result<std::shared_ptr<TlsContextProvider>, TlsLoadError> TlsContextProvider::open(
    std::string cert_path, std::string key_path) {
  std::vector<FileStamp> stamps = {stamp_file(cert_path), stamp_file(key_path)};
  auto loaded = load_tls_context(cert_path, key_path);
  if (!loaded.ok()) return loaded.error();
  return std::shared_ptr<TlsContextProvider>(new TlsContextProvider(
      std::move(cert_path), std::move(key_path), std::move(loaded.value()), std::move(stamps)));
}

std::shared_ptr<ssl::context> TlsContextProvider::current() const {
  std::lock_guard lock(mutex_);
  return loaded_.context;
}

CertificateInfo TlsContextProvider::info() const {
  std::lock_guard lock(mutex_);
  return loaded_.info;
}

uint64_t TlsContextProvider::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

std::vector<FileStamp> TlsContextProvider::stamps() const {
  return {stamp_file(cert_path_), stamp_file(key_path_)};
}

Status TlsContextProvider::reload(const char* why) {
  // Stamped before reading: a change while reading is seen by the next poll.
  auto now = stamps();
  auto loaded = load_tls_context(cert_path_, key_path_);
  detector_.read(std::move(now));
  if (!loaded.ok()) {
    const TlsLoadError& e = loaded.error();
    spdlog::error("TLS: reload on {} failed, keeping the current certificate ({}): {}: {}", why,
                  info().describe(), e.file == TlsLoadError::File::kKey ? "TLS_KEY" : "TLS_CERT",
                  e.message);
    return make_error(e.message);
  }
  const CertificateInfo info = loaded.value().info;
  {
    std::lock_guard lock(mutex_);
    loaded_ = std::move(loaded.value());
    ++reloads_;
  }
  spdlog::info("TLS: certificate reloaded on {}: {}", why, info.describe());
  if (info.expired) spdlog::warn("TLS: the new certificate has expired ({})", info.not_after);
  return {};
}

std::optional<Status> TlsContextProvider::poll() {
  if (!detector_.poll(stamps())) return std::nullopt;
  return reload("file change");
}

}  // namespace lss::http
