#include "cluster/node_registry.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace lss::cluster {

namespace {

std::string string_at(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t count_at(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

}  // namespace

const NodeInfo* least_loaded(const std::vector<NodeInfo>& nodes, const LoadLimits& limits,
                             const std::string& except) {
  const NodeInfo* best = nullptr;
  for (const auto& n : nodes) {
    if (n.id == except || n.url.empty() || limits.over(n)) continue;
    if (!best || n.cpu < best->cpu || (n.cpu == best->cpu && n.peers < best->peers)) best = &n;
  }
  return best;
}

std::string to_json_text(const NodeInfo& n) {
  auto live = nlohmann::json::array();
  for (const auto& s : n.live) {
    live.push_back({{"id", s.id},
                    {"name", s.name},
                    {"started_at", s.started_at},
                    {"viewers", s.viewers},
                    {"video_codec", s.video_codec},
                    {"audio_codec", s.audio_codec},
                    {"bitrate_bps", s.bitrate_bps}});
  }
  auto relayed = nlohmann::json::array();
  for (const auto& r : n.relayed) relayed.push_back({{"name", r.name}, {"viewers", r.viewers}});
  return nlohmann::json{{"id", n.id},       {"url", n.url},         {"media", n.media_addresses},
                        {"peers", n.peers}, {"streams", n.streams}, {"cpu", n.cpu},
                        {"live", live},     {"relayed", relayed}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<NodeInfo> node_from_json_text(const std::string& text) {
  // Another node (maybe a newer version) wrote it: check every type.
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() ||
      j["id"].get_ref<const std::string&>().empty())
    return make_error("a node record without an id");
  NodeInfo n;
  n.id = j["id"].get<std::string>();
  if (auto it = j.find("url"); it != j.end() && it->is_string()) n.url = it->get<std::string>();
  if (auto it = j.find("media"); it != j.end() && it->is_array()) {
    for (const auto& m : *it)
      if (m.is_string()) n.media_addresses.push_back(m.get<std::string>());
  }
  if (auto it = j.find("peers"); it != j.end() && it->is_number_unsigned())
    n.peers = it->get<uint64_t>();
  if (auto it = j.find("streams"); it != j.end() && it->is_number_unsigned())
    n.streams = it->get<uint64_t>();
  if (auto it = j.find("cpu"); it != j.end() && it->is_number()) n.cpu = it->get<double>();
  if (auto it = j.find("live"); it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (!s.is_object() || string_at(s, "name").empty()) continue;
      n.live.push_back({string_at(s, "id"), string_at(s, "name"), string_at(s, "started_at"),
                        count_at(s, "viewers"), string_at(s, "video_codec"),
                        string_at(s, "audio_codec"), count_at(s, "bitrate_bps")});
    }
  }
  if (auto it = j.find("relayed"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (!r.is_object() || string_at(r, "name").empty()) continue;
      n.relayed.push_back({string_at(r, "name"), count_at(r, "viewers")});
    }
  }
  return n;
}

Status NodeRegistry::announce(const NodeInfo& self, std::chrono::milliseconds ttl) {
  if (self.id.empty()) return make_error("a node needs an id");
  auto set = redis_.checked({"SET", key(self.id), to_json_text(self), "PX",
                             std::to_string(std::max<int64_t>(1, ttl.count()))});
  if (!set.ok()) return make_error(set.error().message);
  auto add = redis_.checked({"SADD", prefix_ + "nodes", self.id});
  if (!add.ok()) return make_error(add.error().message);
  return {};
}

Result<std::vector<NodeInfo>> NodeRegistry::nodes() {
  auto ids = redis_.checked({"SMEMBERS", prefix_ + "nodes"});
  if (!ids.ok()) return make_error(ids.error().message);
  std::vector<NodeInfo> out;
  if (ids->elements.empty()) return out;
  std::vector<std::string> mget{"MGET"};
  for (const auto& id : ids->elements) mget.push_back(key(id.str));
  auto records = redis_.checked(mget);
  if (!records.ok()) return make_error(records.error().message);
  std::vector<std::string> gone;
  for (size_t i = 0; i < ids->elements.size() && i < records->elements.size(); ++i) {
    const RedisReply& r = records->elements[i];
    if (r.nil()) {
      gone.push_back(ids->elements[i].str);
      continue;
    }
    if (auto n = node_from_json_text(r.str); n.ok()) out.push_back(std::move(n.value()));
  }
  // Expired members leave the set here: whoever lists first sweeps. A node
  // that announced again in between is back in the set at its next renewal
  // (announce adds it every time).
  if (!gone.empty()) {
    std::vector<std::string> srem{"SREM", prefix_ + "nodes"};
    srem.insert(srem.end(), gone.begin(), gone.end());
    (void)redis_.command(srem);
  }
  std::sort(out.begin(), out.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
  return out;
}

Status NodeRegistry::withdraw(const std::string& id) {
  auto del = redis_.checked({"DEL", key(id)});
  if (!del.ok()) return make_error(del.error().message);
  auto rem = redis_.checked({"SREM", prefix_ + "nodes", id});
  if (!rem.ok()) return make_error(rem.error().message);
  return {};
}

}  // namespace lss::cluster
