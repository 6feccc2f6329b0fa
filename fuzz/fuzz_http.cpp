// HTTP requests come from anyone who reaches the port: parse arbitrary bytes
// as the server does (Beast's parser with the server's header and body
// limits), and route each request that parses, pipelined ones included,
// through the server's own front ends (WHIP/WHEP, REST and admin API, the
// watch page, LL-HLS, static files) over an engine that runs every job at once. No
// sockets, no threads: the router is called directly.
#include <spdlog/spdlog.h>

#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "../tests/unit/support/one_engine.hpp"
#include "app/hls_api.hpp"
#include "app/watch_page.hpp"
#include "catalog/sqlite_catalog.hpp"
#include "dtls/dtls_certificate.hpp"
#include "http/http_server.hpp"
#include "http/static_files.hpp"
#include "signal/admin_api.hpp"
#include "signal/rest_api.hpp"
#include "signal/whip_whep.hpp"

namespace {

namespace bhttp = boost::beast::http;
using lss::http::Request;
using lss::http::RequestContext;
using lss::http::Response;

void check(bool condition) {
  if (!condition) std::abort();
}

// Made once: a certificate per input would be slow, and the catalog is only
// read (no request writes to it).
struct Shared {
  std::shared_ptr<lss::DtlsCertificate> cert = lss::DtlsCertificate::generate().value();
  std::unique_ptr<lss::catalog::SqliteCatalog> catalog =
      std::move(lss::catalog::SqliteCatalog::open(":memory:").value());
};

// The server's front ends on one router, configured with keys so that both
// sides of each check are reachable from a remote client.
struct Server {
  explicit Server(const Shared& shared) : engines(shared.cert) {
    lss::signal::WhipWhepOptions whip;
    whip.stream_key = "stream-key";
    whip.ice_servers.urls = {"stun:stun.example.org", "turn:turn.example.org:3478?transport=udp"};
    whip.ice_servers.secret = "turn-secret";
    whip.session_rate = {0, 0, 100};  // no rate limit: runs must not depend on the clock
    whip.sessions_per_ip = 2;
    lss::signal::register_whip_whep(router, engines, whip);
    const auto now = [](std::function<void()> fn) { fn(); };
    lss::signal::register_rest_api(router, engines, now, shared.catalog.get());
    lss::signal::AdminApiOptions admin;
    admin.admin_key = "admin-key";
    admin.post_to_control = now;
    lss::signal::register_admin_api(router, engines, std::move(admin));
    // LL-HLS: an H264 stream with no part yet (its requests wait, and are
    // answered 404 when the service goes) and a VP8 one HLS refuses.
    (void)hls.open("cam", {{true, "H264", 90000}, {false, "opus", 48000}});
    (void)hls.open("vp8cam", {{true, "VP8", 90000}});
    hls.register_routes(router);
    router.add(lss::kWatchPagePrefix, lss::watch_page_handler(LSS_DEFAULT_WEB_DIR));
    router.set_fallback(lss::http::static_files_handler(LSS_DEFAULT_WEB_DIR));
  }
  // Never run: no timers fire. First, so that it outlives the HLS state the
  // router's handler holds (its timer).
  boost::asio::io_context io;
  lss::signal::OneEngine engines;
  lss::http::Router router;
  lss::HlsService hls{io, {}};
};

void check_answer(unsigned status) {
  check(status >= 100 && status < 600);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // a log line per request would dominate each run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Shared shared;
  const lss::http::ServerLimits limits;
  Server server(shared);
  RequestContext ctx;
  ctx.remote = lss::SocketAddress::ipv4(0xC0000201, 40000);  // 192.0.2.1: not loopback
  ctx.send_file = [](lss::http::FileResponse res) { check_answer(res.result_int()); };
  // Requests one after another, as on a keep-alive connection.
  for (int requests = 0; size > 0 && requests < 8; ++requests) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(limits.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    parser.eager(true);
    boost::beast::error_code ec;
    // As Beast's read loop does: after need_more the server reads more bytes
    // before it calls put() again (calling it again on the same bytes breaks
    // the parser's invariants), so here need_more means the input ended.
    while (!parser.is_done()) {
      const size_t used = parser.put(boost::asio::buffer(data, size), ec);
      data += used;
      size -= used;
      if (ec || (used == 0 && !parser.is_done())) return 0;  // the server answers 4xx, or waits
    }
    Request req = parser.release();
    server.router.dispatch(req, ctx, [](Response res) { check_answer(res.result_int()); });
  }
  return 0;
}
