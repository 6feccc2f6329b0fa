// Engine.IO over HTTP long-polling carries whatever an app server (or anyone
// reaching the port) posts: open a session the way socket.io-client does,
// then feed each '\0'-separated part of the input to the session as a POST
// body (or, starting with '?', as a request's query string), long-polling
// between them. Everything the server sends must be Engine.IO packets, and
// its Socket.IO messages must parse. No sockets: the router is called
// directly and the io_context never runs.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"
#include "signal/socketio_server.hpp"
#include "socketio/codec.hpp"

namespace {

using lss::http::Request;
using lss::http::Response;
using lss::http::Verb;
using lss::signal::SocketIoServer;

void check(bool condition) {
  if (!condition) std::abort();
}

// What the server sends in a polling response: packets of known types, and
// Socket.IO messages it can read back.
void check_payload(std::string_view body) {
  for (std::string_view packet : lss::socketio::split_payload(body)) {
    check(packet[0] >= lss::socketio::kOpen && packet[0] <= lss::socketio::kNoop);
    if (packet[0] == lss::socketio::kMessage) {
      check(lss::socketio::parse_packet(packet.substr(1)).ok());
    }
  }
}

struct Client {
  explicit Client(const lss::http::Router& r) : router(r) {}
  const lss::http::Router& router;
  std::string sid;
  bool polling = false;  // a long-poll GET the server holds

  // Sends one request; the answer, if the server gave one at once.
  std::optional<Response> call(Verb verb, const std::string& target, std::string body = {}) {
    Request req{verb, target, 11};
    req.body() = std::move(body);
    req.prepare_payload();
    lss::http::RequestContext ctx;
    ctx.remote = lss::SocketAddress::ipv4(0xC0000201, 40000);  // 192.0.2.1: not loopback
    std::optional<Response> out;
    router.dispatch(req, ctx, [&out](Response res) { out = std::move(res); });
    return out;
  }
  void poll() {
    if (polling) return;  // a second GET at once would end the session
    const std::string target = "/socket.io/?EIO=4&transport=polling&sid=" + sid;
    Request req{Verb::get, target, 11};
    polling = true;
    router.dispatch(req, {}, [this](Response res) {
      polling = false;
      if (res.result() == lss::http::Status::ok) check_payload(res.body());
    });
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // a log line per session would dominate each run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<SocketIoServer::Ack> held;  // acks a handler answers later; outlive the server
  boost::asio::io_context io;
  lss::http::Router router;
  Client client{router};  // before the server: a held poll's responder points to it
  SocketIoServer::Options options;
  options.stream_key = "app-key";
  options.max_payload = 4096;
  options.max_pending_acks = 4;
  SocketIoServer server(io, options);
  server.register_routes(router);
  server.on("echo", [](const std::string&, const nlohmann::json& args, SocketIoServer::Ack ack) {
    if (ack) ack(args);
  });
  server.on("later", [&held](const std::string&, const nlohmann::json&, SocketIoServer::Ack ack) {
    if (ack) held.push_back(std::move(ack));
  });

  auto open = client.call(Verb::get, "/socket.io/?EIO=4&transport=polling&key=app-key");
  check(open && open->result() == lss::http::Status::ok && open->body().starts_with("0{"));
  client.sid = nlohmann::json::parse(open->body().substr(1))["sid"];

  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const size_t end = input.find('\0');
    const std::string_view part = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    if (part.starts_with('?')) {
      (void)client.call(Verb::get, "/socket.io/" + std::string(part));
    } else {
      (void)client.call(Verb::post, "/socket.io/?EIO=4&transport=polling&sid=" + client.sid,
                        std::string(part));
    }
    server.broadcast("tick", nlohmann::json::object());
    client.poll();
    if (held.size() > 1) {  // answer one late, as a slow media worker would
      held.front()(nlohmann::json{{"ok", true}});
      held.erase(held.begin());
    }
  }
  for (auto& ack : held) ack(nlohmann::json::array());
  return 0;
}
