// ICE-TCP transport: RFC 4571 framing both ways over a real loopback TCP
// connection, the bounded send ring, and oversize frames.
#include "net/tcp_media_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace lss::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Received {
  std::vector<uint8_t> data;
  SocketAddress from;
};

class TcpMediaServerTest : public ::testing::Test {
 protected:
  void start(TcpMediaServer::Limits limits = {}) {
    server_ = std::make_unique<TcpMediaServer>(io_, 0, limits);
    ASSERT_TRUE(server_->open());
    server_->start([this](uint8_t* d, size_t n, const SocketAddress& from, Timestamp) {
      got_.push_back({std::vector<uint8_t>(d, d + n), from});
    });
  }
  tcp::socket connect() {
    tcp::socket s(io_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return s;
  }
  static std::vector<uint8_t> frame(std::vector<uint8_t> body) {
    std::vector<uint8_t> f = {uint8_t(body.size() >> 8), uint8_t(body.size())};
    f.insert(f.end(), body.begin(), body.end());
    return f;
  }
  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) io_.run_for(std::chrono::milliseconds(5));
  }

  asio::io_context io_;
  std::unique_ptr<TcpMediaServer> server_;
  std::vector<Received> got_;
};

TEST_F(TcpMediaServerTest, FramesArriveAsDatagramsFromATcpAddress) {
  start();
  auto s = connect();
  auto a = frame({1, 2, 3}), b = frame(std::vector<uint8_t>(1200, 7));
  std::vector<uint8_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  // Split anywhere: a stream, not datagrams.
  asio::write(s, asio::buffer(both.data(), 4));
  run_until([&] { return got_.size() >= 1; });
  asio::write(s, asio::buffer(both.data() + 4, both.size() - 4));
  run_until([&] { return got_.size() >= 2; });
  ASSERT_EQ(got_.size(), 2u);
  EXPECT_EQ(got_[0].data, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(got_[1].data.size(), 1200u);
  EXPECT_TRUE(got_[0].from.is_tcp());
  EXPECT_EQ(got_[0].from.port, s.local_endpoint().port());
  EXPECT_EQ(got_[0].from.to_string().rfind("tcp:127.0.0.1:", 0), 0u);

  // And back, framed.
  const uint8_t reply[] = {9, 8, 7, 6};
  ASSERT_TRUE(server_->send(ByteSpan(reply, 4), got_[0].from));
  std::vector<uint8_t> in(6);
  bool read = false;
  asio::async_read(s, asio::buffer(in), [&](boost::system::error_code ec, size_t) { read = !ec; });
  run_until([&] { return read; });
  ASSERT_TRUE(read);
  EXPECT_EQ(in, (std::vector<uint8_t>{0, 4, 9, 8, 7, 6}));
  // Nobody at an unknown address.
  SocketAddress udp = got_[0].from;
  udp.transport = SocketAddress::Transport::kUdp;
  EXPECT_FALSE(server_->send(ByteSpan(reply, 4), udp));
}

TEST_F(TcpMediaServerTest, AFullRingDropsAndAStuckConnectionIsClosed) {
  TcpMediaServer::Limits limits;
  limits.send_ring = 4096;
  limits.stuck_after = std::chrono::milliseconds(100);
  start(limits);
  tcp::socket s(io_);
  s.open(tcp::v4());
  s.set_option(asio::socket_base::receive_buffer_size(4096));  // fills soon
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  asio::write(s, asio::buffer(frame({1})));
  run_until([&] { return !got_.empty(); });
  ASSERT_EQ(got_.size(), 1u);
  // The viewer never reads: the kernel's buffers fill, then the ring, then
  // frames are dropped; full for longer than stuck_after, it is closed.
  std::vector<uint8_t> big(1000, 1);
  size_t dropped = 0;
  const Timestamp until = Clock::now() + std::chrono::seconds(4);
  while (Clock::now() < until && server_->connections() == 1) {
    for (int i = 0; i < 50; ++i)
      dropped += !server_->send(ByteSpan(big.data(), big.size()), got_[0].from);
    io_.run_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(server_->counters().dropped, dropped);
  EXPECT_EQ(server_->connections(), 0u);
  EXPECT_EQ(server_->counters().closed_stuck, 1u);
}

TEST_F(TcpMediaServerTest, AnOversizeOrEmptyFrameClosesTheConnection) {
  start();
  auto s = connect();
  const uint8_t huge[] = {0xff, 0xff};
  asio::write(s, asio::buffer(huge));
  run_until([&] { return server_->counters().closed_oversize > 0; });
  EXPECT_EQ(server_->counters().closed_oversize, 1u);
  EXPECT_EQ(server_->connections(), 0u);
  EXPECT_TRUE(got_.empty());
}

}  // namespace
}  // namespace lss::net
