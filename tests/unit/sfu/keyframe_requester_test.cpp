#include "sfu/keyframe_requester.hpp"

#include <gtest/gtest.h>

namespace lss::sfu {
namespace {

TEST(KeyframeRequester, MergesAndThrottles) {
  KeyframeRequester k(std::chrono::milliseconds(500));
  const Timestamp t0{};
  EXPECT_FALSE(k.should_send(t0));
  k.request();
  k.request();
  EXPECT_TRUE(k.should_send(t0));   // merged into one
  EXPECT_FALSE(k.should_send(t0));  // nothing pending
  k.request();
  EXPECT_FALSE(k.should_send(t0 + std::chrono::milliseconds(100)));  // throttled, still pending
  EXPECT_TRUE(k.pending());
  EXPECT_TRUE(k.should_send(t0 + std::chrono::milliseconds(500)));
  k.request();
  k.keyframe_received();  // the keyframe came anyway
  EXPECT_FALSE(k.should_send(t0 + std::chrono::seconds(2)));
}

}  // namespace
}  // namespace lss::sfu
