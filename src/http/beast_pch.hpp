#pragma once
// Precompiled header for everything that touches Boost.Asio/Beast: these
// headers dominate compile time, so they are parsed once per build.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it (GCC 12)
