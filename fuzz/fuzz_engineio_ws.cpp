// Engine.IO over WebSocket: what a browser (or anyone reaching the port)
// sends once /socket.io/ is upgraded. Each run opens a WebSocket-only
// session through the server's real upgrade path (take_websocket, Beast's
// handshake) over a loopback TCP pair, then sends the input's
// '\0'-separated parts: a part starting with 0xff goes out as raw bytes
// (Beast's frame parser: bad masks, lengths, opcodes, control frames),
// any other as one masked text frame (the Engine.IO packets: pings,
// upgrades, Socket.IO CONNECT, events, acks). Everything the server sends
// back must be well-formed frames, and its text frames Engine.IO packets
// whose Socket.IO messages parse. When the client goes, the session must
// go too.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "signal/socketio_server.hpp"
#include "socketio/codec.hpp"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using lss::signal::SocketIoServer;

void check(bool condition) {
  if (!condition) std::abort();
}

// A client frame: FIN, `opcode`, masked with a fixed key (RFC 6455 §5.3).
std::string frame(uint8_t opcode, std::string_view payload) {
  std::string f;
  f += char(0x80 | opcode);
  const size_t n = payload.size();
  if (n < 126) {
    f += char(0x80 | n);
  } else if (n < 65536) {
    f += char(0x80 | 126);
    f += char(n >> 8);
    f += char(n & 0xff);
  } else {
    f += char(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += char((uint64_t(n) >> (8 * i)) & 0xff);
  }
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < n; ++i) f += char(uint8_t(payload[i]) ^ key[i % 4]);
  return f;
}

// Checks the server's frames in `in` (unmasked, RFC 6455), consuming the
// whole ones.
void check_server_frames(std::string& in) {
  for (;;) {
    if (in.size() < 2) return;
    const auto b0 = uint8_t(in[0]), b1 = uint8_t(in[1]);
    check((b1 & 0x80) == 0);  // a server never masks
    size_t len = b1 & 0x7f, at = 2;
    if (len == 126) {
      if (in.size() < 4) return;
      len = (size_t(uint8_t(in[2])) << 8) | uint8_t(in[3]);
      at = 4;
    } else if (len == 127) {
      if (in.size() < 10) return;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | uint8_t(in[2 + i]);
      at = 10;
    }
    if (in.size() < at + len) return;
    const std::string_view payload(in.data() + at, len);
    const uint8_t opcode = b0 & 0x0f;
    check(opcode == 0x1 || opcode == 0x8 || opcode == 0x9 || opcode == 0xa);
    if (opcode == 0x1) {
      check(!payload.empty() && payload[0] >= lss::socketio::kOpen &&
            payload[0] <= lss::socketio::kNoop);
      if (payload[0] == lss::socketio::kMessage)
        check(lss::socketio::parse_packet(payload.substr(1)).ok());
    }
    in.erase(0, at + len);
  }
}

struct World {
  asio::io_context io;
  SocketIoServer server{io, [] {
                          SocketIoServer::Options o;
                          o.stream_key = "app-key";
                          o.max_payload = 4096;
                          o.max_pending_acks = 4;
                          return o;
                        }()};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};

  World() {
    server.on("echo", [](const std::string&, const nlohmann::json& args, SocketIoServer::Ack ack) {
      if (ack) ack(args);
    });
  }
  // Runs the server a little; takes what reached the client.
  void pump(tcp::socket& client, std::string& got) {
    for (int i = 0; i < 4; ++i) {
      io.poll();
      boost::system::error_code ec;
      char buf[8192];
      while (client.is_open() && client.available(ec) > 0) {
        const size_t n = client.read_some(asio::buffer(buf), ec);
        if (ec) break;
        got.append(buf, n);
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = new World();  // one listener for every run
  tcp::socket client(w->io);
  client.connect(w->acceptor.local_endpoint());
  boost::beast::tcp_stream stream(w->acceptor.accept());

  lss::http::Request req{lss::http::Verb::get, "/socket.io/?EIO=4&transport=websocket&key=app-key",
                         11};
  req.set(boost::beast::http::field::host, "fuzz");
  req.set(boost::beast::http::field::upgrade, "websocket");
  req.set(boost::beast::http::field::connection, "upgrade");
  req.set(boost::beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(boost::beast::http::field::sec_websocket_version, "13");
  lss::http::RequestContext ctx;
  ctx.remote = lss::SocketAddress::ipv4(0x7f000001, 40000);  // loopback: no per-address cap
  check(w->server.take_websocket(req, ctx, &stream));

  std::string got;
  for (int i = 0; i < 50 && got.find("\r\n\r\n") == std::string::npos; ++i) w->pump(client, got);
  check(got.starts_with("HTTP/1.1 101"));
  got.erase(0, got.find("\r\n\r\n") + 4);
  check(w->server.sessions() == 1);

  std::string_view input(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  while (!input.empty() && client.is_open()) {
    const size_t end = input.find('\0');
    const std::string_view part = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    const std::string bytes =
        !part.empty() && uint8_t(part[0]) == 0xff ? std::string(part.substr(1)) : frame(0x1, part);
    asio::write(client, asio::buffer(bytes), ec);
    if (ec) break;
    w->pump(client, got);
    check_server_frames(got);
  }
  // The client goes: so must its session (the read fails, the server closes it).
  client.close(ec);
  for (int i = 0; i < 200 && w->server.sessions() > 0; ++i)
    w->io.run_for(std::chrono::milliseconds(1));
  check(w->server.sessions() == 0);
  return 0;
}
