#pragma once
// What the owned-connection tests share: the servers tests/run.sh started
// (their addresses arrive in the environment; a missing variable fails the
// test, it never skips it), a way to run a coroutine to the end, and the
// checks both protocols make in the same words.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/config.h"
#include "proxy/backends/owned_result.h"

namespace sy::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

//! The variable's value; throws (failing the test) when tests/run.sh did not set it.
inline std::string must_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set: run this through tests/run.sh");
  return v;
}

//! A target on the test server: `host_var`/`port_var` name its address,
//! `password` is put in an environment variable named after the user.
inline config::Target test_target(const char* host_var, const char* port_var, const std::string& user,
                                  const std::string& password, const std::string& database) {
  config::Target t;
  t.name = "t_" + user;
  t.address = {must_env(host_var), static_cast<uint16_t>(std::stoi(must_env(port_var)))};
  t.user = user;
  t.password_env = "SY_TEST_PW_" + user;
  t.database = database;
  ::setenv(t.password_env.c_str(), password.c_str(), 1);
  return t;
}

inline config::Target with_tls(config::Target t, config::BackendTlsMode mode, std::string ca = {}) {
  t.tls.mode = mode;
  t.tls.ca = std::move(ca);
  return t;
}

// GCC 12 cannot compile a braced list inside a co_await expression ("array
// used as initializer"): parameters are named variables in these tests.

//! Runs `a` on `io` to the end and returns its value (rethrowing its exception).
template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) out = std::move(v);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

//! Connects, failing the test with the error if that does not work.
template <class Connection>
asio::awaitable<bool> connect_ok(Connection& c) {
  auto e = co_await c.connect();
  EXPECT_FALSE(e) << e->message;
  co_return !e;
}

//! The first value of the first row, "<NULL>" or "<error: ...>".
inline std::string first_value(const proxy::QueryResult& r) {
  if (r.error) return "<error: " + r.error->message + ">";
  if (r.rows.empty() || r.rows[0].empty()) return "<no rows>";
  return r.rows[0][0] ? *r.rows[0][0] : "<NULL>";
}

//! Connects as `target` and returns the first value `sql` answers.
template <class Connection>
std::string query_value(const config::Target& target, const std::string& sql) {
  asio::io_context io;
  return run(io, [&]() -> asio::awaitable<std::string> {
    Connection c(io.get_executor(), target);
    if (auto e = co_await c.connect()) co_return "<connect: " + e->message + ">";
    co_return first_value(co_await c.query(sql));
  }());
}

//! Connecting fails with an error naming the target and containing `expected`.
template <class Connection>
void expect_connect_error(const config::Target& target, const std::string& expected,
                          proxy::OwnedConnectionOptions options = {}) {
  asio::io_context io;
  auto started = Clock::now();
  auto e = run(io, [&]() -> asio::awaitable<std::optional<proxy::BackendError>> {
    Connection c(io.get_executor(), target, options);
    auto e = co_await c.connect();
    EXPECT_FALSE(c.usable());
    co_return e;
  }());
  ASSERT_TRUE(e) << "connected, but should not have";
  EXPECT_NE(e->message.find("target \"" + target.name + "\" at " + target.address.str() + ": "), std::string::npos)
      << e->message;
  EXPECT_NE(e->message.find(expected), std::string::npos) << e->message;
  EXPECT_TRUE(e->connection_lost);
  EXPECT_LT(Clock::now() - started, options.connect_timeout + 1s);
}

//! A TCP listener that accepts and then says nothing: a hung server.
class SilentServer {
 public:
  explicit SilentServer(asio::io_context& io) : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {}
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::ip::tcp::acceptor acceptor_;  // the kernel completes handshakes into the backlog
};

//! A port with nothing listening: bound and closed again.
inline uint16_t dead_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

//! A query longer than the connection's 200 ms timeout comes back as a lost
//! connection, in time.
template <class Connection>
void expect_query_timeout(const config::Target& target, const std::string& slow_sql) {
  asio::io_context io;
  proxy::OwnedConnectionOptions options;
  options.query_timeout = 200ms;
  run(io, [&]() -> asio::awaitable<int> {
    Connection c(io.get_executor(), target, options);
    if (!co_await connect_ok(c)) co_return 0;
    auto started = Clock::now();
    auto r = co_await c.query(slow_sql);
    auto took = Clock::now() - started;
    EXPECT_TRUE(r.error);
    if (r.error) {
      EXPECT_TRUE(r.error->connection_lost);
      EXPECT_NE(r.error->message.find("query timed out after 200 ms"), std::string::npos) << r.error->message;
    }
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 1s);
    EXPECT_FALSE(c.usable());
    auto again = co_await c.query("SELECT 1");
    EXPECT_TRUE(again.error && again.error->connection_lost);
    co_return 0;
  }());
}

//! `connections` connections on one thread, each running `queries` queries
//! `SELECT <param>` once all are logged in, while a 10 ms ticker on the same
//! io_context checks that nothing holds the thread: every answer right and
//! no tick late by much. (Logins are left out of the ticker's watch: 50 SCRAM
//! proofs arriving at once are ~4 ms of honest CPU each, queued together.)
template <class Connection>
void expect_concurrent_queries(const config::Target& target, const std::string& sql_with_one_param, int connections,
                               int queries) {
  asio::io_context io;
  int answered = 0, logged_in = 0, running = connections;
  Clock::duration worst_gap{};
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io);
    std::optional<Clock::time_point> last;
    while (running > 0) {
      t.expires_after(10ms);
      co_await t.async_wait(asio::use_awaitable);
      if (last) worst_gap = std::max(worst_gap, Clock::now() - *last);
      if (logged_in == connections) last = Clock::now();
    }
  }, [](std::exception_ptr) {});
  for (int i = 0; i < connections; ++i)
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      Connection c(io.get_executor(), target);
      bool ok = co_await connect_ok(c);
      ++logged_in;
      asio::steady_timer wait_for_all(io);
      while (logged_in < connections) {
        wait_for_all.expires_after(1ms);
        co_await wait_for_all.async_wait(asio::use_awaitable);
      }
      for (int q = 0; ok && q < queries; ++q) {
        auto want = std::to_string(i * 1000 + q);
        proxy::TextRow param{want};
        auto r = co_await c.query(sql_with_one_param, param);
        if (first_value(r) == want) ++answered;
        else ADD_FAILURE() << first_value(r);
      }
      --running;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run();
  EXPECT_EQ(answered, connections * queries);
  EXPECT_LT(worst_gap, 250ms) << "something blocked the io_context thread";
}

}  // namespace sy::test
