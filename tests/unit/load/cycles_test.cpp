#include "cycles.hpp"

#include <gtest/gtest.h>

#include "options.hpp"

namespace lss::load {
namespace {

TEST(CyclePlaces, EachPlaceTakesItsTurnsThenIsDone) {
  CyclePlaces pl(2);
  pl.assign(0, 0);
  pl.assign(1, 1);
  EXPECT_FALSE(pl.finished());
  EXPECT_EQ(pl.place_of(1), 1u);

  pl.set_leaving(0);
  EXPECT_TRUE(pl.leaving(0));
  ASSERT_TRUE(pl.left(0)) << "a second turn";
  EXPECT_FALSE(pl.leaving(0));
  pl.assign(0, 2);
  EXPECT_EQ(pl.peer(0), 2u);
  EXPECT_EQ(pl.place_of(2), 0u);
  EXPECT_EQ(pl.place_of(0), 0u) << "a former peer still maps to its place";

  EXPECT_FALSE(pl.left(0)) << "two turns had";
  EXPECT_TRUE(pl.done(0));
  EXPECT_FALSE(pl.finished()) << "place 1 is on its first turn";
  ASSERT_TRUE(pl.left(1));
  pl.assign(1, 3);
  EXPECT_FALSE(pl.left(1));
  EXPECT_TRUE(pl.finished());
}

TEST(CyclePlaces, NoPlacesIsFinished) {
  EXPECT_TRUE(CyclePlaces(5).finished());
}

TEST(TurnOver, UnfinishedPeersStayFailedOrClosedOnesLeave) {
  PeerContext ctx;
  const Timestamp now = Clock::now();
  LoadPeer a(0, LoadPeer::Role::kViewer, "s", ctx);
  EXPECT_FALSE(turn_over(a, now, milliseconds(100), seconds(10)));
  a.on_requested(now);
  EXPECT_FALSE(turn_over(a, now + seconds(60), milliseconds(100), seconds(10)))
      << "signalling has its own timeout";
  a.fail("refused");
  EXPECT_TRUE(turn_over(a, now, milliseconds(100), seconds(10)));

  LoadPeer b(1, LoadPeer::Role::kPublisher, "s", ctx);
  b.on_requested(now);
  b.stop();  // as when the server closes it
  EXPECT_TRUE(turn_over(b, now, milliseconds(100), seconds(10)));
}

Result<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "lss-load");
  return parse_options(int(args.size()), const_cast<char**>(args.data()));
}

TEST(CycleOptions, ViewersOrPublishersOverWhipWhep) {
  auto ok = parse({"--url", "http://127.0.0.1:1", "--stream", "s", "--viewers", "50", "--cycles",
                   "40", "--hold-ms", "300"});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->cycles, 40);
  EXPECT_EQ(ok->hold_ms, 300);
  EXPECT_EQ(parse({"--url", "http://127.0.0.1:1", "--stream", "s", "--publish"})->hold_ms, 1000);

  auto both = parse({"--url", "http://127.0.0.1:1", "--stream", "s", "--publish", "--viewers", "2",
                     "--cycles", "3"});
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("not both"), std::string::npos);
  EXPECT_FALSE(parse({"--stream", "s", "--rtp-out", "127.0.0.1:5000:5002", "--cycles", "2"}).ok());
}

}  // namespace
}  // namespace lss::load
