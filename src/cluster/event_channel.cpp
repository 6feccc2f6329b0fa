#include "cluster/event_channel.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace lss::cluster {

std::string events_channel(const RedisUrl& url, const std::string& prefix) {
  return prefix + "events:" + std::to_string(url.db);
}

std::string to_message(const ClusterEvent& e) {
  auto data = nlohmann::json::parse(e.data, nullptr, false);
  if (data.is_discarded()) data = nullptr;
  return nlohmann::json{{"node", e.node}, {"event", e.name}, {"data", data}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ClusterEvent> event_from_message(const std::string& text) {
  // Anything with access to the Redis server may publish: check every field.
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return make_error("an event that is not a JSON object");
  auto node = j.find("node"), name = j.find("event"), data = j.find("data");
  if (node == j.end() || !node->is_string() || name == j.end() || !name->is_string() ||
      name->get_ref<const std::string&>().empty() || data == j.end())
    return make_error("an event without node, event and data");
  return ClusterEvent{node->get<std::string>(), name->get<std::string>(),
                      data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

EventSubscriber::EventSubscriber(RedisUrl url, std::string channel,
                                 std::function<void(ClusterEvent)> on_event)
    : url_(std::move(url)), channel_(std::move(channel)), on_event_(std::move(on_event)) {}

EventSubscriber::~EventSubscriber() {
  stop();
}

void EventSubscriber::start() {
  thread_ = std::thread([this] { run(); });
}

void EventSubscriber::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void EventSubscriber::run() {
  using namespace std::chrono_literals;
  // The poll interval bounds how long stop() waits.
  constexpr auto kPoll = 200ms;
  constexpr auto kRetry = 1s;
  RedisClient redis(url_, 1s);
  bool warned = false;
  while (!stopping_) {
    if (!redis.connected()) {
      auto r = redis.checked({"SUBSCRIBE", channel_});
      if (!r.ok()) {
        if (!warned) spdlog::warn("cluster events: {} (retrying)", r.error().message);
        warned = true;
        for (auto until = std::chrono::steady_clock::now() + kRetry;
             !stopping_ && std::chrono::steady_clock::now() < until;)
          std::this_thread::sleep_for(50ms);
        continue;
      }
      if (warned) spdlog::info("cluster events: listening again");
      warned = false;
      subscribed_ = true;
    }
    auto push = redis.next_push(kPoll);
    if (!push.ok()) {
      subscribed_ = false;
      continue;  // reconnects (and warns) at the top
    }
    if (!*push) continue;
    // ["message", channel, payload]; subscribe confirmations are arrays too.
    const RedisReply& m = **push;
    if (m.kind != RedisReply::Kind::kArray || m.elements.size() != 3 ||
        m.elements[0].str != "message")
      continue;
    auto e = event_from_message(m.elements[2].str);
    if (!e.ok()) {
      spdlog::debug("cluster events: dropped: {}", e.error().message);
      continue;
    }
    on_event_(std::move(e.value()));
  }
  subscribed_ = false;
}

}  // namespace lss::cluster
