// OwnedMySqlConnection against the MariaDB 10.11 that tests/run.sh starts
// (tests/mariadb_server.sh: app (mysql_native_password), eduser (ed25519),
// tlsuser (REQUIRE SSL); its CA in SY_MY_CA). MariaDB has no
// caching_sha2_password; Connector/C loads that plugin when a MySQL 8 asks.
#include "proxy/backends/owned_mysql_connection.h"

#include "proxy/backends/mysql_inline_params.h"

#include "tests/backends/backend_test_env.h"

namespace sy::test {
namespace {

using proxy::OwnedMySqlConnection;
using Mode = config::BackendTlsMode;

config::Target my(const std::string& user, const std::string& password) {
  return test_target("MYHOST", "MYPORT", user, password, "app");
}

TEST(OwnedMySqlConnection, NativePasswordLoginAndColumns) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<int> {
    OwnedMySqlConnection c(io.get_executor(), my("app", "apppass"));
    if (!co_await connect_ok(c)) co_return 0;
    EXPECT_TRUE(c.usable());
    EXPECT_GT(c.thread_id(), 0u);
    auto r = co_await c.query("SELECT CURRENT_USER() AS who, 7 AS n UNION ALL SELECT 'x', 8");
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(first_value(r), "app@%");
    EXPECT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.columns.size(), 2u);
    if (r.columns.size() == 2) {
      EXPECT_EQ(r.columns[0].name, "who");
      EXPECT_EQ(r.columns[1].name, "n");
    }
    co_return 0;
  }());
}

TEST(OwnedMySqlConnection, Ed25519LoginAsTheServerAsks) {
  EXPECT_EQ(query_value<OwnedMySqlConnection>(my("eduser", "edpass"), "SELECT CURRENT_USER()"), "eduser@%");
}

TEST(OwnedMySqlConnection, WrongPasswordIsAClearError) {
  expect_connect_error<OwnedMySqlConnection>(my("app", "not-it"), "Access denied for user 'app'");
}

TEST(OwnedMySqlConnection, TlsRequireAndVerifyFull) {
  const char* cipher_sql = "SELECT VARIABLE_VALUE <> '' FROM information_schema.SESSION_STATUS "
                           "WHERE VARIABLE_NAME = 'SSL_CIPHER'";
  EXPECT_EQ(query_value<OwnedMySqlConnection>(with_tls(my("tlsuser", "tlspass"), Mode::Require), cipher_sql), "1");
  EXPECT_EQ(query_value<OwnedMySqlConnection>(
                with_tls(my("tlsuser", "tlspass"), Mode::VerifyFull, must_env("SY_MY_CA")), cipher_sql),
            "1");
  expect_connect_error<OwnedMySqlConnection>(my("tlsuser", "tlspass"), "Access denied for user 'tlsuser'");
}

TEST(OwnedMySqlConnection, DeadPortAndSilentServerFailWithinTheConnectTimeout) {
  auto t = my("app", "apppass");
  t.address.port = dead_port();
  expect_connect_error<OwnedMySqlConnection>(t, "Can't connect");

  asio::io_context silent_io;
  SilentServer silent(silent_io);
  t.address.port = silent.port();
  proxy::OwnedConnectionOptions options;
  options.connect_timeout = 300ms;
  expect_connect_error<OwnedMySqlConnection>(t, "connect timed out after 300 ms", options);
}

TEST(OwnedMySqlConnection, QueryTimeoutClosesTheConnection) {
  expect_query_timeout<OwnedMySqlConnection>(my("app", "apppass"), "SELECT SLEEP(5)");
}

TEST(OwnedMySqlConnection, ParametersNullsAndServerErrors) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<int> {
    OwnedMySqlConnection c(io.get_executor(), my("app", "apppass"));
    if (!co_await connect_ok(c)) co_return 0;
    proxy::TextRow params{"41", std::nullopt, "it's \\' \"; DROP TABLE x -- "};
    auto r = co_await c.query("SELECT ? + 1, ? IS NULL, ?, NULL, '?' /* ? */", params);
    EXPECT_FALSE(r.error) << r.error->message;
    if (r.rows.size() == 1 && r.rows[0].size() == 5) {
      EXPECT_EQ(r.rows[0][0], "42");
      EXPECT_EQ(r.rows[0][1], "1");
      EXPECT_EQ(r.rows[0][2], "it's \\' \"; DROP TABLE x -- ");
      EXPECT_EQ(r.rows[0][3], std::nullopt);
      EXPECT_EQ(r.rows[0][4], "?");
    } else {
      ADD_FAILURE() << "wrong shape";
    }
    proxy::TextRow two{"1", "2"};
    auto mismatch = co_await c.query("SELECT ?", two);
    EXPECT_TRUE(mismatch.error && !mismatch.error->connection_lost);
    auto bad = co_await c.query("SELECT * FROM no_such_table");
    EXPECT_TRUE(bad.error);
    if (bad.error) {
      EXPECT_EQ(bad.error->sqlstate, "42S02");
      EXPECT_FALSE(bad.error->connection_lost);
      EXPECT_NE(bad.error->message.find("doesn't exist"), std::string::npos) << bad.error->message;
    }
    EXPECT_TRUE(c.usable());
    co_await c.query("CREATE TEMPORARY TABLE t (a int)");
    proxy::TextRow three{"3"};
    auto dml = co_await c.query("INSERT INTO t VALUES (1), (2), (?)", three);
    EXPECT_FALSE(dml.error);
    EXPECT_EQ(dml.affected, 3u);
    co_return 0;
  }());
}

// A prepared statement's bound numbers are replayed unquoted (shadow reads):
// `LIMIT ?` takes no string. What is not a plain number stays a quoted string.
TEST(OwnedMySqlConnection, NumbersGoUnquotedSoLimitTakesThem) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<int> {
    OwnedMySqlConnection c(io.get_executor(), my("app", "apppass"));
    if (!co_await connect_ok(c)) co_return 0;
    proxy::TextRow params{"-2", "1.5e1", "7; DROP TABLE x", "2"};
    std::vector<bool> numbers{true, true, true, true};
    std::optional<std::chrono::steady_clock::time_point> no_deadline;
    auto r = co_await c.query("SELECT 1-?, ? * 2, ? FROM seq_1_to_5 LIMIT ?", params, no_deadline, numbers);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.rows.size(), 2u);
    if (!r.rows.empty() && r.rows[0].size() == 3) {
      EXPECT_EQ(r.rows[0][0], "3");
      EXPECT_EQ(r.rows[0][1], "30");
      EXPECT_EQ(r.rows[0][2], "7; DROP TABLE x");
    }
    co_return 0;
  }());
}

TEST(MysqlInlineParams, PlainNumbers) {
  for (const char* yes : {"0", "-7", "+3", "12.50", "1e9", "-1.5E-3", "18446744073709551615"})
    EXPECT_TRUE(proxy::plain_number(yes)) << yes;
  for (const char* no : {"", "-", "1.", ".5", "1e", "0x10", "1 ", "nan", "inf", "1;", "--1", "1e+"})
    EXPECT_FALSE(proxy::plain_number(no)) << no;
}

TEST(OwnedMySqlConnection, FiftyConnectionsTwentyQueriesEachOnOneThread) {
  expect_concurrent_queries<OwnedMySqlConnection>(my("app", "apppass"), "SELECT ?", 50, 20);
}

}  // namespace
}  // namespace sy::test
