#include "http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/parse_number.hpp"
#include "http/router.hpp"

namespace lss::http {
namespace fs = std::filesystem;

namespace {
std::string mime_type(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webm") return "video/webm";
  if (ext == ".mp4") return "video/mp4";
  return "application/octet-stream";
}
// Larger answers stream from disk when the server allows it (the page's
// own files stay below this and are read at once).
constexpr uint64_t kInMemoryLimit = 256 * 1024;

struct ByteRange {
  bool valid;
  uint64_t first, last;
};

// "bytes=a-b", "bytes=a-" or "bytes=-n"; nullopt when absent or not a single
// byte range (then the whole file is sent, as RFC 9110 allows).
std::optional<ByteRange> parse_range(std::string_view h, uint64_t size) {
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) return std::nullopt;
  h.remove_prefix(6);
  const size_t dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  uint64_t a = 0, b = 0;
  const bool has_a = parse_number(h.substr(0, dash), a),
             has_b = parse_number(h.substr(dash + 1), b);
  if (!has_a && !has_b) return std::nullopt;
  if (!has_a) {  // suffix: the last b bytes
    if (b == 0 || size == 0) return ByteRange{false, 0, 0};
    return ByteRange{true, size - std::min(b, size), size - 1};
  }
  if (a >= size || (has_b && b < a)) return ByteRange{false, 0, 0};
  return ByteRange{true, a, has_b ? std::min(b, size - 1) : size - 1};
}

}  // namespace

Handler static_files_handler(std::string root_dir) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::path(root_dir), ec);
  return [root](const Request& req, const RequestContext& ctx, Responder respond) {
    if (req.method() != Verb::get && req.method() != Verb::head) {
      auto res = make_response(req, Status::method_not_allowed, "method not allowed\n");
      res.set(bhttp::field::allow, "GET, HEAD");
      return respond(std::move(res));
    }
    std::string path(target_path(req.target()));
    if (path.empty() || path.back() == '/') path += "index.html";
    // Reject traversal outright rather than trusting normalisation alone.
    if (path.find("..") != std::string::npos || path.find('\0') != std::string::npos) {
      return respond(make_response(req, Status::not_found, "not found\n"));
    }
    std::error_code err;
    fs::path file = fs::weakly_canonical(root / path.substr(1), err);
    const auto rel = file.lexically_relative(root).string();
    if (err || rel.empty() || rel.rfind("..", 0) == 0 || !fs::is_regular_file(file, err)) {
      return respond(make_response(req, Status::not_found, "not found\n"));
    }
    const uint64_t size = fs::file_size(file, err);
    // Players seek in recordings with Range requests (RFC 9110 §14).
    uint64_t first = 0, last = size ? size - 1 : 0;
    bool partial = false;
    if (auto range = parse_range(req[bhttp::field::range], size)) {
      if (!range->valid) {
        auto res = make_response(req, Status::range_not_satisfiable, "range not satisfiable\n");
        res.set(bhttp::field::content_range, "bytes */" + std::to_string(size));
        return respond(std::move(res));
      }
      first = range->first;
      last = range->last;
      partial = true;
    }
    const auto content_range =
        "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size);
    if (ctx.send_file && req.method() == Verb::get && last - first + 1 > kInMemoryLimit) {
      // Stream it: a recording may be far larger than what a request should
      // hold in memory.
      FileResponse res{partial ? Status::partial_content : Status::ok, req.version()};
      res.keep_alive(req.keep_alive());
      boost::system::error_code fec;
      RangeFile f;
      f.open(file.c_str(), boost::beast::file_mode::scan, fec);
      if (!fec) f.set_range(first, last - first + 1, fec);
      if (!fec) res.body().reset(std::move(f), fec);
      if (fec) {
        return respond(make_response(req, Status::internal_server_error, "cannot read file\n"));
      }
      res.set(bhttp::field::content_type, mime_type(file));
      res.set(bhttp::field::accept_ranges, "bytes");
      res.set(bhttp::field::cache_control, "no-cache");
      if (partial) res.set(bhttp::field::content_range, content_range);
      res.prepare_payload();
      return ctx.send_file(std::move(res));
    }
    std::string body;
    if (size > 0 && req.method() == Verb::get) {
      body.resize(last - first + 1);
      std::ifstream in(file, std::ios::binary);
      in.seekg(std::streamoff(first));
      in.read(body.data(), std::streamsize(body.size()));
      body.resize(size_t(in.gcount()));
    }
    auto res = make_response(req, partial ? Status::partial_content : Status::ok, std::move(body),
                             mime_type(file));
    res.set(bhttp::field::accept_ranges, "bytes");
    res.set(bhttp::field::cache_control, "no-cache");
    if (partial) res.set(bhttp::field::content_range, content_range);
    if (req.method() == Verb::head) res.content_length(size);
    respond(std::move(res));
  };
}

}  // namespace lss::http
