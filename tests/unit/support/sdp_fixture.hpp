#pragma once
// An SDP captured from a real client, from tests/data/sdp/ (the sdp tests'
// fixtures: Chromium, Firefox, GStreamer offers).
#include <fstream>
#include <sstream>
#include <string>

namespace lss::testing {

inline std::string load_sdp_fixture(const std::string& name) {
  std::ifstream in(std::string(LSS_TEST_DATA_DIR) + "/sdp/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace lss::testing
