#pragma once
// HTTPS for the HTTP port: a server TLS context (TLS 1.2 and 1.3 only) made
// from a PEM certificate chain and a PEM private key, and the bookkeeping
// that swaps it for a new one when the files change, without a restart.
// New connections take the current context; a connection keeps the one it
// started with. Loading and change detection do only file reads and stat(),
// so they are tested without sockets; the timer and SIGHUP that drive them
// are in tls_reloader.hpp.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace lss::http {

// What a loaded certificate is, for logs.
struct CertificateInfo {
  std::string subject;                 // RFC 2253, e.g. "CN=live.example.com"
  std::string issuer;                  // of the leaf
  std::string serial;                  // hex, e.g. "03A1..."
  std::string not_after;               // "Jun  1 12:00:00 2027 GMT"
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  size_t chain_length = 0;             // certificates in the file, leaf included
  bool expired = false;

  std::string describe() const;  // one line: subject, names, serial, expiry
};

// A failed load names the file at fault.
struct TlsLoadError {
  enum class File { kCert, kKey } file = File::kCert;
  std::string message;  // names the path and what is wrong with it
};

struct LoadedTls {
  std::shared_ptr<boost::asio::ssl::context> context;
  CertificateInfo info;
};

// Reads `cert_path` (the leaf first, then any intermediates: certbot's
// fullchain.pem) and `key_path` (unencrypted PEM: PKCS#8, RSA or EC) and
// makes a server context: TLS 1.2 and 1.3 only, forward-secret AEAD
// ciphers for TLS 1.2, no compression or renegotiation. Fails on an
// unreadable file, a file without a PEM certificate or key, an encrypted
// key, or a key that is not the certificate's.
Result<LoadedTls, TlsLoadError> load_tls_context(const std::string& cert_path,
                                                 const std::string& key_path);

// The identity of a file as reached through any symlinks: the path it
// resolves to (certbot's live/*.pem are links into archive/ that it points
// at new files on renewal) and that file's device, inode, size and
// modification time. Two equal stamps: the file has not changed.
struct FileStamp {
  bool exists = false;
  std::string resolved;
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_file(const std::string& path);

// Decides, one poll at a time, when changed files are read again: once
// they differ from those last read and have stayed the same for one more
// poll, so a certificate and key copied one after the other, or a file
// still being written, are read whole. After a failed read the files are
// not tried again until they change again (one error in the log, not one
// every poll).
class ChangeDetector {
 public:
  // The stamps of the files as they were just read (successfully or not).
  void read(std::vector<FileStamp> stamps);
  // One poll with the files' current stamps; true: read them now.
  bool poll(const std::vector<FileStamp>& now);

 private:
  std::vector<FileStamp> read_;
  std::optional<std::vector<FileStamp>> pending_;
};

// The current server context of a certificate/key pair, and its reloads.
// Thread-safe; reloads normally run on the control thread.
class TlsContextProvider {
 public:
  // Loads the files for the first time.
  static Result<std::shared_ptr<TlsContextProvider>, TlsLoadError> open(std::string cert_path,
                                                                        std::string key_path);

  // The context for a new connection.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  CertificateInfo info() const;
  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }

  // Reads both files again now. On success new connections get the new
  // certificate; on failure the current one stays and the error is
  // returned. Logs either way, with `why` ("SIGHUP", "files changed").
  Status reload(const char* why);
  // One poll of the files (every ~2 s): reloads when ChangeDetector says
  // so. nullopt when nothing was done, else the reload's outcome.
  std::optional<Status> poll();
  uint64_t reloads() const;  // successful reloads so far

 private:
  TlsContextProvider(std::string cert_path, std::string key_path, LoadedTls loaded,
                     std::vector<FileStamp> stamps);
  std::vector<FileStamp> stamps() const;

  const std::string cert_path_, key_path_;
  mutable std::mutex mutex_;
  LoadedTls loaded_;
  uint64_t reloads_ = 0;
  ChangeDetector detector_;  // used by poll()/reload() on one thread
};

}  // namespace lss::http
