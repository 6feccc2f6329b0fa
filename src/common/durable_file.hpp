#pragma once
// Files that must survive a power cut once written: the data is fsync'ed
// before the rename that publishes it, and the folder after, so a reader
// finds either nothing or the whole file, never an empty one.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lss {

// Writes `text` to `path` through `path`.tmp + fsync + rename + folder fsync;
// on failure no .tmp is left.
Status write_file_durably(const std::string& path, std::string_view text);

// fdatasync of a file written by someone else (e.g. a muxer's own I/O).
Status sync_file(const std::string& path);

// fsync of a folder: makes the renames and creations in it durable.
Status sync_directory(const std::string& dir);

}  // namespace lss
