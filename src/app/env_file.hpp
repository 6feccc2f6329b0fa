#pragma once
// CONFIG_FILE: settings as an environment file (KEY=VALUE lines, as
// systemd's EnvironmentFile= and `docker run --env-file` take them), read
// at start and again on SIGHUP, so what can change without a restart (the
// log level, webhooks) changes by editing the file.
//
// Syntax: blank lines and lines starting with # are skipped; an optional
// leading "export "; KEY is [A-Za-z_][A-Za-z0-9_]*; VALUE runs to the end of
// the line, trimmed, unless quoted: '...' literally, "..." with \" \\ \n
// escapes. At most 1 MiB.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace lss {

using EnvEntries = std::vector<std::pair<std::string, std::string>>;

// The entries of `text` in order; an error names the line.
Result<EnvEntries> parse_env_file(std::string_view text);
// parse_env_file() of the file at `path`.
Result<EnvEntries> read_env_file(const std::string& path);
// The last value of `key` in `entries`, or nullptr.
const std::string* find_entry(const EnvEntries& entries, std::string_view key);

}  // namespace lss
