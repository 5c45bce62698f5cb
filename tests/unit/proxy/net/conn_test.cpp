// Conn::read_some reads through its own reactor op (exhaustible_recv.h) on an
// edge-triggered registration. These cases check that nothing is ever missed:
// bytes that land after a short read, whether or not the event loop saw them
// arrive first, and an end of stream right behind the last bytes.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <optional>
#include <string>

#include "proxy/net/conn.h"
#include "proxy/net/exhaustible_recv.h"

namespace sy::proxy {
namespace {

using namespace std::chrono_literals;

//! Two ends of a fresh loopback TCP connection: {connecting, accepted}.
std::pair<tcp::socket, tcp::socket> loopback_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket connecting(io);
  connecting.connect(acceptor.local_endpoint());
  return {std::move(connecting), acceptor.accept()};
}

struct Pair {
  asio::io_context io{1};
  tcp::socket peer{io};
  std::optional<Conn> conn;

  Pair() {
    auto [connecting, accepted] = loopback_pair(io);
    peer = std::move(connecting);
    conn.emplace(std::move(accepted));
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

// The peer's last bytes and its FIN arrive in one epoll edge when it writes
// and closes at once (a client leaving mid-COPY, a server's last FATAL). A
// short read that took the socket for empty would wait for another edge
// that never comes, and the session would hang with both sockets open.
TEST(ConnReadSome, EndOfStreamRightBehindTheDataIsSeen) {
  Pair p;
  p.send("a");
  EXPECT_EQ(p.read(64), "a");
  p.start_read(64);
  p.io.restart();
  p.io.poll();  // the read is now queued on the descriptor
  p.send("b");
  p.peer.shutdown(tcp::socket::shutdown_send);  // one edge for both
  EXPECT_EQ(p.finish_read(), "b");
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

// asio's ssl::stream posts through an empty read on the layer below; it must
// complete at once even when the socket is known to be empty.
TEST(ConnReadSome, AnEmptyReadCompletesAtOnceAfterAShortRead) {
  Pair p;
  p.send("a");
  EXPECT_EQ(p.read(64), "a");
  auto& reactor = asio::use_service<asio::detail::reactor>(p.io);
  std::optional<std::pair<error_code, size_t>> result;
  async_recv_exhaustible(reactor, p.conn->socket(), asio::mutable_buffer(),
                         [&](error_code ec, size_t n) { result.emplace(ec, n); });
  p.io.restart();
  p.io.poll();
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->first) << result->first.message();
  EXPECT_EQ(result->second, 0u);
}

// Under TLS the record layer reads through the same exhaustible recv. Both
// ends here are Conns, so each handshake step and every record is read that
// way on both sides; a missed wakeup shows up as an unfinished exchange.

//! A server context with a throwaway self-signed P-256 certificate.
std::shared_ptr<asio::ssl::context> self_signed_server_context() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  SSL_CTX_use_certificate(ctx->native_handle(), cert.get());
  SSL_CTX_use_PrivateKey(ctx->native_handle(), key.get());
  return ctx;
}

struct TlsPair {
  asio::io_context io{1};
  std::optional<Conn> server, client;
  std::shared_ptr<asio::ssl::context> server_ctx = self_signed_server_context();
  asio::ssl::context client_ctx{asio::ssl::context::tls_client};  // verify none: the test is about reads

  TlsPair() {
    auto [connecting, accepted] = loopback_pair(io);
    client.emplace(std::move(connecting));
    server.emplace(std::move(accepted));
  }

  //! Runs both coroutines to the end; false if either is still waiting after 10 s.
  bool run(std::function<asio::awaitable<void>()> server_side, std::function<asio::awaitable<void>()> client_side) {
    int done = 0;
    auto count = [&done](std::function<asio::awaitable<void>()> f) -> asio::awaitable<void> {
      co_await f();
      ++done;
    };
    asio::co_spawn(io, count(std::move(server_side)), asio::detached);
    asio::co_spawn(io, count(std::move(client_side)), asio::detached);
    io.run_for(10s);
    return done == 2;
  }
};

//! Reads until `want` bytes arrived; returns what came (less on error).
asio::awaitable<std::string> read_exactly(Conn& conn, size_t want) {
  std::string out;
  std::string buf(64 * 1024, '\0');
  while (out.size() < want) {
    error_code ec;
    size_t n = co_await conn.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, 0, n);
  }
  co_return out;
}

TEST(ConnTls, HandshakeAndSmallMessagesBothWays) {
  TlsPair p;
  constexpr int kRounds = 200;
  int echoed = 0;
  error_code server_ec, client_ec;
  bool finished = p.run(
      [&]() -> asio::awaitable<void> {
        co_await p.server->tls_accept(*p.server_ctx, server_ec);
        if (server_ec) co_return;
        for (int i = 0; i < kRounds; ++i) {
          std::string msg = co_await read_exactly(*p.server, 5);
          co_await p.server->write(asio::buffer(msg), server_ec);
          if (server_ec) co_return;
        }
      },
      [&]() -> asio::awaitable<void> {
        co_await p.client->tls_connect(p.client_ctx, "localhost", "", client_ec);
        if (client_ec) co_return;
        for (int i = 0; i < kRounds; ++i) {
          std::string msg = std::to_string(100000 + i).substr(1);  // five digits
          co_await p.client->write(asio::buffer(msg), client_ec);
          if (client_ec) co_return;
          if (co_await read_exactly(*p.client, 5) == msg) ++echoed;
        }
      });
  EXPECT_TRUE(finished);
  EXPECT_FALSE(server_ec) << server_ec.message();
  EXPECT_FALSE(client_ec) << client_ec.message();
  EXPECT_EQ(echoed, kRounds);
}

TEST(ConnTls, ALargeWriteArrivesWhole) {
  TlsPair p;
  std::string big(3 * 1024 * 1024 + 17, 'x');  // many full 16 KiB records
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);
  std::string got;
  error_code server_ec, client_ec;
  bool finished = p.run(
      [&]() -> asio::awaitable<void> {
        co_await p.server->tls_accept(*p.server_ctx, server_ec);
        if (!server_ec) got = co_await read_exactly(*p.server, big.size());
      },
      [&]() -> asio::awaitable<void> {
        co_await p.client->tls_connect(p.client_ctx, "", "", client_ec);
        if (!client_ec) co_await p.client->write(asio::buffer(big), client_ec);
      });
  EXPECT_TRUE(finished);
  EXPECT_FALSE(server_ec) << server_ec.message();
  EXPECT_FALSE(client_ec) << client_ec.message();
  EXPECT_TRUE(got == big) << got.size() << " of " << big.size() << " bytes";
}

// MySQL clients send their ClientHello right behind the SSLRequest, so the
// proxy may already hold the first TLS bytes when it starts the handshake.
TEST(ConnTls, HandshakeWithBytesAlreadyRead) {
  TlsPair p;
  error_code server_ec, client_ec;
  std::string reply;
  bool finished = p.run(
      [&]() -> asio::awaitable<void> {
        std::string first(5, '\0');  // part of the ClientHello, read as plain bytes
        size_t n = co_await p.server->read_some(asio::buffer(first), server_ec);
        if (server_ec) co_return;
        co_await p.server->tls_accept(*p.server_ctx, server_ec, std::string_view(first.data(), n));
        if (server_ec) co_return;
        co_await p.server->write(asio::buffer("hello", 5), server_ec);
      },
      [&]() -> asio::awaitable<void> {
        co_await p.client->tls_connect(p.client_ctx, "", "", client_ec);
        if (!client_ec) reply = co_await read_exactly(*p.client, 5);
      });
  EXPECT_TRUE(finished);
  EXPECT_FALSE(server_ec) << server_ec.message();
  EXPECT_FALSE(client_ec) << client_ec.message();
  EXPECT_EQ(reply, "hello");
}

}  // namespace
}  // namespace sy::proxy
