#pragma once
// Request/response types shared by the HTTP server and the front ends.
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/basic_file_body.hpp>
#include <functional>
#include <string>
#include <variant>

#include "common/socket_address.hpp"
#include "http/range_file.hpp"

namespace boost::beast {
template <class NextLayer>
class ssl_stream;  // <boost/beast/ssl.hpp>, included where a TLS stream is used
}

namespace lss::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Status = bhttp::status;
using Verb = bhttp::verb;
// A response whose body streams from a file (a byte range of it).
using FileResponse = bhttp::response<bhttp::basic_file_body<RangeFile>>;

struct RequestContext {
  SocketAddress remote;
  // Set by the HTTP server for each request: answers with a file body that
  // is written in chunks, instead of the Responder (one or the other, once).
  // Unset elsewhere (e.g. tests), where handlers answer in memory.
  std::function<void(FileResponse)> send_file;
};

// Handlers answer through a Responder, possibly later and from another
// thread (e.g. once a media worker has created the peer); it is safe to call
// from any thread, exactly once.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(const Request&, const RequestContext&, Responder)>;

// The connection of a request that asks for a WebSocket upgrade: plain TCP,
// or TLS when the port speaks HTTPS (TLS_CERT).
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using UpgradeStream = std::variant<boost::beast::tcp_stream*, TlsStream*>;

// Takes over a connection whose request asks for a WebSocket upgrade (by
// moving the stream out); returns false to leave it to the normal handlers
// (which answer it as plain HTTP).
using UpgradeHandler =
    std::function<bool(Request& req, const RequestContext& ctx, UpgradeStream stream)>;

// A response with a plain-text (or given type) body and the request's version
// and keep-alive carried over.
Response make_response(const Request& req, Status status, std::string body = {},
                       std::string content_type = "text/plain; charset=utf-8");

}  // namespace lss::http
