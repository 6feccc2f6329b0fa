#include "http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

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
}  // namespace

Handler static_files_handler(std::string root_dir) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::path(root_dir), ec);
  return [root](const Request& req, const RequestContext&, Responder respond) {
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
    std::ifstream in(file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    auto res = make_response(req, Status::ok, body.str(), mime_type(file));
    res.set(bhttp::field::cache_control, "no-cache");
    if (req.method() == Verb::head) res.body().clear();
    respond(std::move(res));
  };
}

}  // namespace lss::http
