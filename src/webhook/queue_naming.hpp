#pragma once
// Names in a webhook queue directory: DATA_DIR/webhooks/<receiver>/<seq>.json.
// Sequence numbers are zero-padded so that name order is delivery order.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lss::webhook {

// "00000000000000000042.json"
std::string queue_file_name(uint64_t seq);
// 42 for "00000000000000000042.json"; nullopt for anything else (temp files,
// set-aside corrupt files, strays).
std::optional<uint64_t> parse_queue_file_name(std::string_view name);
// A receiver's folder: the first 16 hex digits of SHA-256(url). Stable across
// restarts (so the queue resumes), distinct per URL, and free of any token
// the URL may carry.
std::string receiver_dir_name(std::string_view url);

}  // namespace lss::webhook
