#include "sctp/dcep.hpp"

#include <gtest/gtest.h>

namespace lss::sctp {
namespace {

// A DATA_CHANNEL_OPEN as Chrome sends it for PeerJS: reliable, priority 256,
// label "dc_abc", no protocol.
const Bytes kChromeOpen = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                           0x06, 0x00, 0x00, 'd',  'c',  '_',  'a',  'b',  'c'};

TEST(Dcep, ParsesBrowserOpen) {
  auto m = parse_dcep(kChromeOpen);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto* open = std::get_if<DataChannelOpen>(&*m);
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->channel_type, ChannelType::kReliable);
  EXPECT_EQ(open->priority, 256);
  EXPECT_EQ(open->reliability_parameter, 0u);
  EXPECT_EQ(open->label, "dc_abc");
  EXPECT_EQ(open->protocol, "");
}

TEST(Dcep, OpenRoundTrip) {
  DataChannelOpen open;
  open.channel_type = ChannelType::kPartialReliableRexmitUnordered;
  open.priority = 512;
  open.reliability_parameter = 3;
  open.label = "chat";
  open.protocol = "json";
  auto bytes = build_data_channel_open(open);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 12u + 4 + 4);
  auto m = parse_dcep(*bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(std::get<DataChannelOpen>(*m), open);
  EXPECT_TRUE(is_unordered(open.channel_type));
}

TEST(Dcep, EmptyLabelAndProtocolRoundTrip) {
  auto bytes = build_data_channel_open(DataChannelOpen{});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 12u);
  auto m = parse_dcep(*bytes);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<DataChannelOpen>(*m), DataChannelOpen{});
}

TEST(Dcep, AckRoundTrip) {
  const Bytes ack = build_data_channel_ack();
  EXPECT_EQ(ack, Bytes{0x02});
  auto m = parse_dcep(ack);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::holds_alternative<DataChannelAck>(*m));
}

TEST(Dcep, RejectsEveryTruncation) {
  for (size_t n = 0; n < kChromeOpen.size(); ++n) {
    EXPECT_FALSE(parse_dcep(ByteSpan(kChromeOpen).first(n)).ok()) << n;
  }
}

TEST(Dcep, RejectsLengthsLargerThanTheMessage) {
  Bytes m = kChromeOpen;
  m[8] = 0xff;  // label length 0xff06
  EXPECT_FALSE(parse_dcep(m).ok());
  m = kChromeOpen;
  m[10] = 0x01;  // protocol length 256
  EXPECT_FALSE(parse_dcep(m).ok());
  m = kChromeOpen;
  m[9] = 0x07;  // label one past the end
  EXPECT_FALSE(parse_dcep(m).ok());
}

TEST(Dcep, RejectsTrailingBytes) {
  Bytes m = kChromeOpen;
  m.push_back('x');
  EXPECT_FALSE(parse_dcep(m).ok());
  EXPECT_FALSE(parse_dcep(Bytes{0x02, 0x00}).ok());
}

TEST(Dcep, RejectsUnknownTypes) {
  EXPECT_FALSE(parse_dcep(Bytes{0x04}).ok());
  EXPECT_FALSE(parse_dcep(Bytes{0x00}).ok());
  Bytes m = kChromeOpen;
  m[1] = 0x03;  // no such channel type
  EXPECT_FALSE(parse_dcep(m).ok());
}

TEST(Dcep, BuildRejectsOversizedLabel) {
  DataChannelOpen open;
  open.label.assign(65536, 'a');
  EXPECT_FALSE(build_data_channel_open(open).ok());
  open.label.assign(65535, 'a');
  auto bytes = build_data_channel_open(open);
  ASSERT_TRUE(bytes.ok());
  auto m = parse_dcep(*bytes);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<DataChannelOpen>(*m).label.size(), 65535u);
  open.label.clear();
  open.protocol.assign(65536, 'p');
  EXPECT_FALSE(build_data_channel_open(open).ok());
}

}  // namespace
}  // namespace lss::sctp
