// DTLS records come from any address that passed ICE: split them and feed a
// server-side handshake, which must fail cleanly on anything malformed.
#include <cstddef>
#include <cstdint>

#include "dtls/dtls_transport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto cert = lss::DtlsCertificate::generate().value();
  const lss::ByteSpan in(data, size);
  (void)lss::looks_like_dtls(in);
  (void)lss::split_dtls_records(in);
  lss::DtlsTransport server(cert, lss::DtlsTransport::Role::kServer, "sha-256", "AA:BB");
  const auto now = lss::Clock::now();
  // The input may hold several datagrams separated by a 2-byte length.
  size_t pos = 0;
  for (int i = 0; i < 8 && pos + 2 <= size; ++i) {
    const size_t n = std::min<size_t>(size - pos - 2, size_t(data[pos]) << 8 | data[pos + 1]);
    server.handle_datagram(in.subspan(pos + 2, n), now);
    (void)server.take_outgoing();
    pos += 2 + n;
  }
  return 0;
}
