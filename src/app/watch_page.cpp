#include "app/watch_page.hpp"

#include "http/router.hpp"
#include "http/static_files.hpp"
#include "signal/publish_auth.hpp"

namespace lss {

http::Handler watch_page_handler(std::string web_dir) {
  // The static handler does GET/HEAD, 405 and the headers; it is asked for
  // /watch.html whatever the stream. No X-Frame-Options or CSP
  // frame-ancestors: the page is meant to be embedded anywhere.
  auto files = http::static_files_handler(std::move(web_dir));
  return
      [files](const http::Request& req, const http::RequestContext& ctx, http::Responder respond) {
        const std::string_view path = http::target_path(req.target());
        const std::string_view prefix(kWatchPagePrefix);
        const std::string_view name =
            path.size() > prefix.size() ? path.substr(prefix.size()) : std::string_view();
        if (!signal::valid_stream_name(name)) {
          return respond(http::make_response(req, http::Status::not_found, "not found\n"));
        }
        http::Request page = req;
        page.target("/watch.html");
        files(page, ctx, std::move(respond));
      };
}

}  // namespace lss
