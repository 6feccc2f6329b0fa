#include "app/config_reload.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

namespace lss {
namespace {

constexpr const char* kReloadable[] = {"LOG_LEVEL", "WEBHOOK_URLS", "WEBHOOK_SECRET",
                                       "WEBHOOK_VIEWER_EVENTS", "CONFIG_FILE"};

}  // namespace

ReloadableSettings reloadable_settings(const Config& c) {
  return {c.log_level, c.webhook_urls, c.webhook_secret, c.webhook_viewer_events};
}

Result<ReloadableSettings> reload_settings(const EnvEntries& file,
                                           const ReloadableSettings& current) {
  ReloadableSettings next = current;
  if (const std::string* v = find_entry(file, "LOG_LEVEL")) {
    if (!valid_log_level(*v))
      return make_error(
          "invalid LOG_LEVEL: expected trace, debug, info, warn, error, critical "
          "or off, got '" +
          *v + "'");
    next.log_level = *v;
  }
  if (const std::string* v = find_entry(file, "WEBHOOK_URLS")) {
    auto urls = parse_webhook_urls(*v);
    if (!urls.ok()) return urls.error();
    next.webhook_urls = std::move(urls.value());
  }
  if (const std::string* v = find_entry(file, "WEBHOOK_SECRET")) next.webhook_secret = *v;
  if (const std::string* v = find_entry(file, "WEBHOOK_VIEWER_EVENTS")) {
    auto b = parse_bool_setting("WEBHOOK_VIEWER_EVENTS", *v);
    if (!b.ok()) return b.error();
    next.webhook_viewer_events = *b;
  }
  if (!next.webhook_urls.empty() && next.webhook_secret.empty())
    return make_error("invalid WEBHOOK_SECRET: required when WEBHOOK_URLS is set");
  return next;
}

std::vector<std::string> restart_only_changes(
    const EnvEntries& file, const std::function<const char*(const char*)>& in_force) {
  std::vector<std::string> out;
  for (const auto& entry : file) {
    const std::string& key = entry.first;  // not a structured binding: clang 14 cannot capture one
    if (std::find_if(std::begin(kReloadable), std::end(kReloadable),
                     [&](const char* k) { return key == k; }) != std::end(kReloadable))
      continue;
    const char* was = in_force(key.c_str());
    const std::string& last = *find_entry(file, key);  // the one that counts
    if ((!was || last != was) && std::find(out.begin(), out.end(), key) == out.end())
      out.push_back(key);
  }
  return out;
}

void reload_config_file(const std::string& config_file, ReloadableSettings& in_force,
                        webhook::Webhooks& hooks) {
  if (config_file.empty()) {
    spdlog::info(
        "SIGHUP: no CONFIG_FILE to read again (set it to change LOG_LEVEL and the "
        "webhooks without a restart)");
    return;
  }
  auto file = read_env_file(config_file);
  if (!file.ok()) {
    spdlog::error("SIGHUP: {}; nothing changed", file.error().message);
    return;
  }
  auto next = reload_settings(*file, in_force);
  if (!next.ok()) {
    spdlog::error("SIGHUP: {} in {}; nothing changed", next.error().message, config_file);
    return;
  }
  for (const auto& key : restart_only_changes(*file, [](const char* k) { return std::getenv(k); }))
    spdlog::warn("SIGHUP: {} changed in {}: takes effect at the next start", key, config_file);
  if (next->log_level != in_force.log_level) {
    spdlog::set_level(spdlog::level::from_str(next->log_level));
    spdlog::info("SIGHUP: LOG_LEVEL {} -> {}", in_force.log_level, next->log_level);
  }
  const bool hooks_changed = next->webhook_urls != in_force.webhook_urls ||
                             next->webhook_secret != in_force.webhook_secret ||
                             next->webhook_viewer_events != in_force.webhook_viewer_events;
  if (hooks_changed) {
    if (auto st = hooks.reconfigure(next->webhook_urls, next->webhook_secret,
                                    next->webhook_viewer_events);
        !st) {
      spdlog::error("SIGHUP: webhooks unchanged: {}", st.message());
      next->webhook_urls = in_force.webhook_urls;
      next->webhook_secret = in_force.webhook_secret;
      next->webhook_viewer_events = in_force.webhook_viewer_events;
    } else {
      spdlog::info("SIGHUP: webhooks now to {} receiver(s){}", next->webhook_urls.size(),
                   next->webhook_viewer_events ? "" : ", no viewer events");
    }
  }
  if (*next == in_force) spdlog::info("SIGHUP: {} read again, nothing to change", config_file);
  in_force = std::move(next.value());
}

}  // namespace lss
