#pragma once
// Serves the built-in page's files from one folder (GET/HEAD only). Paths are
// resolved inside the folder; anything that would escape it is a 404.
#include <string>

#include "http/http_types.hpp"

namespace lss::http {

Handler static_files_handler(std::string root_dir);

}  // namespace lss::http
