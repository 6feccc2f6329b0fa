#include "http/router.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "http/static_files.hpp"

namespace lss::http {
namespace {

Response call(const Router& router, Verb verb, std::string target) {
  Request req{verb, target, 11};
  Response out;
  router.dispatch(req, {}, [&](Response r) { out = std::move(r); });
  return out;
}

TEST(Router, LongestPrefixWinsAndExactRoutesAreExact) {
  Router r;
  std::string hit;
  auto mark = [&](std::string name) {
    return [&hit, name](const Request& req, const RequestContext&, Responder respond) {
      hit = name;
      respond(make_response(req, Status::ok, name));
    };
  };
  r.add("/whip/", mark("whip"));
  r.add("/healthz", mark("health"));
  r.add("/", mark("root"));
  call(r, Verb::post, "/whip/cam1");
  EXPECT_EQ(hit, "whip");
  call(r, Verb::get, "/healthz?x=1");
  EXPECT_EQ(hit, "health");
  call(r, Verb::get, "/healthzz");
  EXPECT_EQ(hit, "root");
  EXPECT_EQ(call(r, Verb::get, "/whip").result(), Status::ok);
  EXPECT_EQ(hit, "whip");
}

TEST(Router, QueryParameters) {
  EXPECT_EQ(query_param("/a?key=s%20c&x=1", "key"), "s c");
  EXPECT_EQ(query_param("/a?x=1&key=abc", "key"), "abc");
  EXPECT_EQ(query_param("/a?keyx=1", "key"), "");
  EXPECT_EQ(query_param("/a", "key"), "");
  EXPECT_EQ(query_param("/a?key=%zz%4", "key"), "%zz%4");
  EXPECT_EQ(target_path("/a/b?c=d"), "/a/b");
}

TEST(StaticFiles, ServesInsideRootOnly) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "lss_static_test";
  fs::create_directories(root / "sub");
  std::ofstream(root / "index.html") << "<h1>hi</h1>";
  std::ofstream(root / "sub" / "app.js") << "let x;";
  std::ofstream(root.parent_path() / "lss_secret.txt") << "secret";
  Router r;
  r.set_fallback(static_files_handler(root.string()));
  auto res = call(r, Verb::get, "/");
  EXPECT_EQ(res.result(), Status::ok);
  EXPECT_EQ(res.body(), "<h1>hi</h1>");
  EXPECT_EQ(res[bhttp::field::content_type], "text/html; charset=utf-8");
  res = call(r, Verb::get, "/sub/app.js");
  EXPECT_EQ(res.result(), Status::ok);
  EXPECT_EQ(call(r, Verb::get, "/../lss_secret.txt").result(), Status::not_found);
  EXPECT_EQ(call(r, Verb::get, "/sub/../../lss_secret.txt").result(), Status::not_found);
  EXPECT_EQ(call(r, Verb::get, "/missing").result(), Status::not_found);
  EXPECT_EQ(call(r, Verb::post, "/").result(), Status::method_not_allowed);
  fs::remove_all(root);
}

TEST(StaticFiles, ServesByteRanges) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "lss_range_test";
  fs::create_directories(root);
  std::ofstream(root / "clip.webm") << "0123456789";
  Router r;
  r.set_fallback(static_files_handler(root.string()));
  auto get = [&](const char* range) {
    Request req{Verb::get, "/clip.webm", 11};
    if (range) req.set(bhttp::field::range, range);
    Response out;
    r.dispatch(req, {}, [&](Response res) { out = std::move(res); });
    return out;
  };
  auto res = get(nullptr);
  EXPECT_EQ(res.result(), Status::ok);
  EXPECT_EQ(res[bhttp::field::accept_ranges], "bytes");
  res = get("bytes=2-5");
  EXPECT_EQ(res.result(), Status::partial_content);
  EXPECT_EQ(res.body(), "2345");
  EXPECT_EQ(res[bhttp::field::content_range], "bytes 2-5/10");
  EXPECT_EQ(get("bytes=7-").body(), "789");
  EXPECT_EQ(get("bytes=-3").body(), "789");
  EXPECT_EQ(get("bytes=8-100").body(), "89");
  EXPECT_EQ(get("bytes=10-").result(), Status::range_not_satisfiable);
  EXPECT_EQ(get("bytes=5-2").result(), Status::range_not_satisfiable);
  EXPECT_EQ(get("bytes=0-1,4-5").result(), Status::ok);  // multiple ranges: whole file
  EXPECT_EQ(get("items=0-1").result(), Status::ok);
  fs::remove_all(root);
}

// Large files (recordings) are not read into memory: with the server's
// send_file they go out as a file body over exactly the asked range.
TEST(StaticFiles, StreamsLargeFilesFromDisk) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "lss_stream_test";
  fs::create_directories(root);
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = char(i * 7 + i / 251);
  std::ofstream(root / "clip.webm", std::ios::binary) << content;
  Router r;
  r.set_fallback(static_files_handler(root.string()));
  auto get = [&](const char* range, std::string& body) {
    Request req{Verb::get, "/clip.webm", 11};
    if (range) req.set(bhttp::field::range, range);
    std::optional<FileResponse> file;
    RequestContext ctx;
    ctx.send_file = [&](FileResponse f) { file = std::move(f); };
    r.dispatch(req, ctx, [&](Response) { ADD_FAILURE() << "answered in memory"; });
    if (!file) return FileResponse{};
    // Read the body as the serializer does: from the file's position, size() bytes.
    boost::system::error_code ec;
    RangeFile& f = file->body().file();
    body.assign(size_t(f.size(ec)), '\0');
    size_t got = 0;
    while (got < body.size()) {
      const size_t n = f.read(body.data() + got, body.size() - got, ec);
      if (ec || n == 0) break;
      got += n;
    }
    body.resize(got);
    return std::move(*file);
  };
  std::string body;
  auto res = get(nullptr, body);
  EXPECT_EQ(res.result(), Status::ok);
  EXPECT_EQ(res[bhttp::field::content_length], std::to_string(content.size()));
  EXPECT_TRUE(body == content);
  res = get("bytes=1000000-2999999", body);
  EXPECT_EQ(res.result(), Status::partial_content);
  EXPECT_EQ(res[bhttp::field::content_range], "bytes 1000000-2999999/3145728");
  EXPECT_EQ(res[bhttp::field::content_length], "2000000");
  EXPECT_TRUE(body == content.substr(1000000, 2000000));
  // A small range is answered in memory, as small files are.
  Request req{Verb::get, "/clip.webm", 11};
  req.set(bhttp::field::range, "bytes=10-19");
  RequestContext ctx;
  ctx.send_file = [&](FileResponse) { ADD_FAILURE() << "streamed a small range"; };
  Response small;
  r.dispatch(req, ctx, [&](Response out) { small = std::move(out); });
  EXPECT_EQ(small.body(), content.substr(10, 10));
  fs::remove_all(root);
}

}  // namespace
}  // namespace lss::http

namespace lss::http {
namespace {

uint64_t count_of(const Router& r, std::string_view route, unsigned status) {
  for (const auto& row : r.request_counts().snapshot()) {
    if (row.route == route && row.status == status) return row.count;
  }
  return 0;
}

TEST(Router, CountsAnswersByRoutePrefixAndStatus) {
  Router r;
  r.add("/whip/", [](const Request& req, const RequestContext&, Responder respond) {
    respond(make_response(req, req.method() == Verb::post ? Status::created : Status::not_found));
  });
  call(r, Verb::post, "/whip/cam1");
  call(r, Verb::post, "/whip/cam2?x=1");  // one label for every stream: the prefix
  call(r, Verb::delete_, "/whip/cam1/abc");
  call(r, Verb::get, "/nowhere");  // no route, no fallback
  EXPECT_EQ(count_of(r, "/whip/", 201), 2u);
  EXPECT_EQ(count_of(r, "/whip/", 404), 1u);
  EXPECT_EQ(count_of(r, Router::kFallbackRoute, 404), 1u);
  EXPECT_EQ(r.request_counts().snapshot().size(), 3u);
}

TEST(Router, CountsFileAnswersToo) {
  Router r;
  r.set_fallback([](const Request&, const RequestContext& ctx, Responder) {
    FileResponse res{Status::partial_content, 11};
    ctx.send_file(std::move(res));
  });
  RequestContext ctx;
  int sent = 0;
  ctx.send_file = [&](FileResponse) { ++sent; };
  Request req{Verb::get, "/index.html", 11};
  r.dispatch(req, ctx, [](Response) {});
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(count_of(r, Router::kFallbackRoute, 206), 1u);
}

}  // namespace
}  // namespace lss::http
