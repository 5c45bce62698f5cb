// Conn::read_some tells the reactor when a read emptied the socket, so the next
// read waits on the edge-triggered registration without a syscall. These cases
// check that no data is ever missed because of it: bytes that land after a
// short read, whether or not the event loop saw them arrive first.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "proxy/conn.h"

namespace sy::proxy {
namespace {

using namespace std::chrono_literals;

struct Pair {
  asio::io_context io{1};
  tcp::socket peer{io};
  std::optional<Conn> conn;

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    conn.emplace(acceptor.accept());
  }

  void send(std::string_view bytes) { asio::write(peer, asio::buffer(bytes)); }

  //! What the last started read produced: the bytes, or "error: <message>".
  std::optional<std::string> got;

  //! Starts one read_some into a buffer of `room` bytes; runs nothing.
  void start_read(size_t room) {
    got.reset();
    asio::co_spawn(
        io,
        [this, room]() -> asio::awaitable<void> {
          std::string buf(room, '\0');
          error_code ec;
          size_t n = co_await conn->read_some(asio::buffer(buf), ec);
          got = ec ? "error: " + ec.message() : buf.substr(0, n);
        },
        asio::detached);
  }

  //! Drives the loop until the read completes. A missed wakeup shows up as
  //! no result rather than as a hang.
  std::optional<std::string> finish_read() {
    io.restart();
    io.run_for(5s);
    return got;
  }

  std::optional<std::string> read(size_t room) {
    start_read(room);
    return finish_read();
  }
};

TEST(ConnReadSome, DataAfterAShortReadIsSeenWhenTheLoopNoticedItFirst) {
  Pair p;
  p.send("a");
  EXPECT_EQ(p.read(64), "a");  // short: the socket is now known to be empty
  p.send("b");
  p.io.restart();
  p.io.poll();  // the reactor sees EPOLLIN while no read is queued
  EXPECT_EQ(p.read(64), "b");
}

TEST(ConnReadSome, DataAfterAShortReadIsSeenWhenTheReadIsQueuedFirst) {
  Pair p;
  p.send("a");
  EXPECT_EQ(p.read(64), "a");
  p.send("b");  // the edge is still pending in epoll when the read is started
  EXPECT_EQ(p.read(64), "b");
}

TEST(ConnReadSome, DataSentWhileTheReadWaitsWakesIt) {
  Pair p;
  p.send("a");
  EXPECT_EQ(p.read(64), "a");
  p.start_read(64);
  p.io.restart();
  p.io.poll();  // the read is now queued on the descriptor
  EXPECT_FALSE(p.got);
  p.send("late");
  EXPECT_EQ(p.finish_read(), "late");
}

TEST(ConnReadSome, AFullBufferLeavesTheRestForTheNextRead) {
  Pair p;
  p.send("0123456789");
  EXPECT_EQ(p.read(4), "0123");
  EXPECT_EQ(p.read(4), "4567");
  EXPECT_EQ(p.read(4), "89");
  p.send("x");
  EXPECT_EQ(p.read(4), "x");
}

TEST(ConnReadSome, EndOfStreamAfterAShortRead) {
  Pair p;
  p.send("a");
  EXPECT_EQ(p.read(64), "a");
  p.peer.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(p.read(64), "error: " + error_code(asio::error::eof).message());
}

TEST(ConnReadSome, CloseWakesAPendingRead) {
  Pair p;
  p.start_read(64);
  p.io.poll();
  p.conn->close();
  auto got = p.finish_read();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->starts_with("error: ")) << *got;
}

}  // namespace
}  // namespace sy::proxy
