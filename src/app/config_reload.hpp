#pragma once
// What SIGHUP changes without dropping anyone: the log level and the
// webhooks (WEBHOOK_URLS, WEBHOOK_SECRET, WEBHOOK_VIEWER_EVENTS), read again
// from CONFIG_FILE. (TLS certificates are reloaded by https_setup.) Other
// settings changed in the file take effect at the next start; a reload says
// which.
#include <functional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/env_file.hpp"
#include "common/result.hpp"
#include "webhook/webhooks.hpp"

namespace lss {

struct ReloadableSettings {
  std::string log_level;
  std::vector<std::string> webhook_urls;
  std::string webhook_secret;
  bool webhook_viewer_events = true;
  bool operator==(const ReloadableSettings&) const = default;
};

ReloadableSettings reloadable_settings(const Config& config);

// The file's values over `current` (a key the file no longer has keeps its
// value), checked as at start: an error leaves everything as it was.
Result<ReloadableSettings> reload_settings(const EnvEntries& file,
                                           const ReloadableSettings& current);

// Keys of `file` that are not reloadable and differ from `in_force` (the
// environment the server started with): they wait for a restart.
std::vector<std::string> restart_only_changes(
    const EnvEntries& file, const std::function<const char*(const char*)>& in_force);

// SIGHUP: reads `config_file` again and applies what changed to the log
// level and `hooks`, updating `in_force`; logs each change, the settings
// that wait for a restart, or why nothing changed.
void reload_config_file(const std::string& config_file, ReloadableSettings& in_force,
                        webhook::Webhooks& hooks);

}  // namespace lss
