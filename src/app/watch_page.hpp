#pragma once
// GET /watch/{stream}: the player page of one stream (web/watch.html), a link
// a streamer can share or put in an <iframe> on any site. The page is the
// same for every stream (it reads the name from its own URL); a name the
// server would refuse to publish is a 404 here too.
#include <string>

#include "http/http_types.hpp"

namespace lss {

inline constexpr const char* kWatchPagePrefix = "/watch/";

http::Handler watch_page_handler(std::string web_dir);

}  // namespace lss
