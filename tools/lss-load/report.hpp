#pragma once
// The run's results as JSON (--json) or a short human summary.
#include <nlohmann/json.hpp>
#include <string>

#include "runner.hpp"

namespace lss::load {

nlohmann::json build_report(const RunData& data);
std::string human_summary(const nlohmann::json& report);
// 0 when some viewer received media (or, without viewers, a publisher connected).
int exit_code(const RunData& data);

}  // namespace lss::load
