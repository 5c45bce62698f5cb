// OwnedPgConnection against the PostgreSQL 15 that tests/run.sh starts
// (tests/pg_server.sh: md5user, scramuser, tlsonly; its CA in SY_PG_CA).
#include "proxy/backends/owned_pg_connection.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/backends/backend_test_env.h"

namespace sy::test {
namespace {

using proxy::OwnedPgConnection;
using Mode = config::BackendTlsMode;

config::Target pg(const std::string& user, const std::string& password) {
  return test_target("PGHOST", "PGPORT", user, password, "app");
}

TEST(OwnedPgConnection, ScramLoginAndColumns) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<int> {
    OwnedPgConnection c(io.get_executor(), pg("scramuser", "scrampass"));
    if (!co_await connect_ok(c)) co_return 0;
    EXPECT_TRUE(c.usable());
    EXPECT_GT(c.backend_pid(), 0);
    auto r = co_await c.query("SELECT current_user::text AS who, 7::int4 AS n UNION ALL SELECT 'x', 8");
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.command_tag, "SELECT 2");
    EXPECT_EQ(r.columns.size(), 2u);
    if (r.columns.size() == 2) {
      EXPECT_EQ(r.columns[0].name, "who");
      EXPECT_EQ(r.columns[0].type, 25u);  // text
      EXPECT_EQ(r.columns[1].name, "n");
      EXPECT_EQ(r.columns[1].type, 23u);  // int4
    }
    EXPECT_EQ(first_value(r), "scramuser");
    EXPECT_EQ(r.rows.size(), 2u);
    auto method = co_await c.query("SELECT 1");
    EXPECT_EQ(first_value(method), "1");
    co_return 0;
  }());
}

TEST(OwnedPgConnection, PipelineInOneSnapshotWithBinaryParameters) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<int> {
    OwnedPgConnection c(io.get_executor(), pg("scramuser", "scrampass"));
    if (!co_await connect_ok(c)) co_return 0;
    proxy::PgParams params;
    params.values = {std::string("\0\0\0\x2a", 4), std::string("abc"), std::nullopt};
    params.formats = {1, 0, 0};
    params.types = {23, 0, 0};  // int4 in binary; the others inferred
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::vector<proxy::PgStatement> first{
        {"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"},
        {"SELECT $1::int4 + 1 AS n, $2::text AS t, $3::text IS NULL AS isnull", &params},
        {"SELECT txid_current_if_assigned() IS NULL AS ro, now() = statement_timestamp() AS same"},
        {"COMMIT"}};
    auto rs = co_await c.pipeline(std::move(first), deadline);
    EXPECT_EQ(rs.size(), 4u);
    for (const auto& r : rs) EXPECT_FALSE(r.error) << r.error->message;
    if (rs.size() == 4 && rs[1].rows.size() == 1) {
      EXPECT_EQ(rs[1].rows[0][0], "43");
      EXPECT_EQ(rs[1].rows[0][1], "abc");
      EXPECT_EQ(rs[1].rows[0][2], "t");
      EXPECT_EQ(rs[2].command_tag, "SELECT 1");
    }
    // An error skips the rest and the connection stays usable.
    std::vector<proxy::PgStatement> failing{{"BEGIN"}, {"SELECT 1/0"}, {"SELECT 2"}, {"COMMIT"}};
    rs = co_await c.pipeline(std::move(failing), deadline);
    EXPECT_FALSE(rs[0].error);
    EXPECT_TRUE(rs[1].error && rs[1].error->sqlstate == "22012");
    EXPECT_TRUE(rs[2].error);
    EXPECT_TRUE(c.usable());
    EXPECT_EQ(first_value(co_await c.query("SELECT 'after'")), "after");
    co_return 0;
  }());
}

TEST(OwnedPgConnection, Md5Login) {
  EXPECT_EQ(query_value<OwnedPgConnection>(pg("md5user", "md5pass"), "SELECT current_user"), "md5user");
}

TEST(OwnedPgConnection, WrongPasswordIsAClearError) {
  expect_connect_error<OwnedPgConnection>(pg("scramuser", "not-it"),
                                          "password authentication failed for user \"scramuser\"");
  expect_connect_error<OwnedPgConnection>(pg("md5user", "not-it"), "password authentication failed for user \"md5user\"");
}

TEST(OwnedPgConnection, UnsetPasswordVariableIsNamed) {
  auto t = pg("scramuser", "scrampass");
  t.password_env = "SY_TEST_UNSET_VARIABLE";
  ::unsetenv(t.password_env.c_str());
  expect_connect_error<OwnedPgConnection>(t, "environment variable SY_TEST_UNSET_VARIABLE (password_env of target");
}

TEST(OwnedPgConnection, TlsRequireAndVerifyFull) {
  const char* ssl_sql = "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
  // tlsonly is rejected without TLS (pg_hba hostnossl ... reject).
  EXPECT_EQ(query_value<OwnedPgConnection>(with_tls(pg("tlsonly", "tlspass"), Mode::Require), ssl_sql), "true");
  EXPECT_EQ(query_value<OwnedPgConnection>(with_tls(pg("tlsonly", "tlspass"), Mode::VerifyFull, must_env("SY_PG_CA")),
                                           ssl_sql),
            "true");
  EXPECT_EQ(query_value<OwnedPgConnection>(with_tls(pg("tlsonly", "tlspass"), Mode::Prefer), ssl_sql), "true");
  expect_connect_error<OwnedPgConnection>(pg("tlsonly", "tlspass"), "no encryption");
}

TEST(OwnedPgConnection, VerifyFullRefusesAnotherCa) {
  // A CA that did not sign the server's certificate.
  auto dir = std::filesystem::temp_directory_path() / ("sy-other-ca-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto ca = (dir / "ca.crt").string();
  auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=other CA' -keyout '" +
             (dir / "ca.key").string() + "' -out '" + ca + "' 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  expect_connect_error<OwnedPgConnection>(with_tls(pg("tlsonly", "tlspass"), Mode::VerifyFull, ca),
                                          "certificate verify failed");
  std::filesystem::remove_all(dir);
}

TEST(OwnedPgConnection, DeadPortAndSilentServerFailWithinTheConnectTimeout) {
  auto t = pg("scramuser", "scrampass");
  t.address.port = dead_port();
  expect_connect_error<OwnedPgConnection>(t, "Connection refused");

  asio::io_context silent_io;
  SilentServer silent(silent_io);
  t.address.port = silent.port();
  proxy::OwnedConnectionOptions options;
  options.connect_timeout = 300ms;
  expect_connect_error<OwnedPgConnection>(t, "connect timed out after 300 ms", options);
}

TEST(OwnedPgConnection, QueryTimeoutClosesAndTheServerStops) {
  auto t = pg("scramuser", "scrampass");
  expect_query_timeout<OwnedPgConnection>(t, "SELECT pg_sleep(5)");
  // statement_timeout (query timeout + 1 s) ends the abandoned statement on
  // the server: no pg_sleep is left running well before its 5 s.
  std::string left;
  for (int i = 0; i < 30; ++i) {
    left = query_value<OwnedPgConnection>(
        t, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'");
    if (left == "0") break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(left, "0");
}

TEST(OwnedPgConnection, ParametersNullsAndServerErrors) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<int> {
    OwnedPgConnection c(io.get_executor(), pg("scramuser", "scrampass"));
    if (!co_await connect_ok(c)) co_return 0;
    proxy::TextRow params{"41", std::nullopt, "it's; DROP TABLE x --"};
    auto r = co_await c.query("SELECT $1::int + 1, $2::text IS NULL, $3::text, NULL::text", params);
    EXPECT_FALSE(r.error) << r.error->message;
    if (r.rows.size() == 1 && r.rows[0].size() == 4) {
      EXPECT_EQ(r.rows[0][0], "42");
      EXPECT_EQ(r.rows[0][1], "t");
      EXPECT_EQ(r.rows[0][2], "it's; DROP TABLE x --");
      EXPECT_EQ(r.rows[0][3], std::nullopt);
    } else {
      ADD_FAILURE() << "wrong shape";
    }
    auto bad = co_await c.query("SELECT 1/0");
    EXPECT_TRUE(bad.error);
    if (bad.error) {
      EXPECT_EQ(bad.error->sqlstate, "22012");
      EXPECT_FALSE(bad.error->connection_lost);
      EXPECT_NE(bad.error->message.find("division by zero"), std::string::npos) << bad.error->message;
    }
    EXPECT_TRUE(c.usable());
    auto dml = co_await c.query("CREATE TEMP TABLE t(a int)");
    EXPECT_EQ(dml.command_tag, "CREATE TABLE");
    proxy::TextRow three{"3"};
    dml = co_await c.query("INSERT INTO t VALUES (1), (2), ($1)", three);
    EXPECT_EQ(dml.affected, 3u);
    EXPECT_EQ(dml.command_tag, "INSERT 0 3");
    co_return 0;
  }());
}

TEST(OwnedPgConnection, FiftyConnectionsTwentyQueriesEachOnOneThread) {
  expect_concurrent_queries<OwnedPgConnection>(pg("scramuser", "scrampass"), "SELECT $1::text", 50, 20);
}

}  // namespace
}  // namespace sy::test
