// One login and one query on an owned connection, for tests driven from
// Python (test_owned_mysql8_auth.py, against tests/integration/fake_mysql8.py):
//   owned_probe postgres|mysql HOST PORT USER DATABASE TLS_MODE [CA] [SQL]
// The password comes from SY_PROBE_PW. Prints the first value, or
// "error: ..." and exits 1.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <string>

#include "proxy/backends/owned_mysql_connection.h"
#include "proxy/backends/owned_pg_connection.h"

namespace asio = boost::asio;
using namespace sy;

template <class Connection>
asio::awaitable<void> probe(asio::io_context& io, config::Target target, std::string sql, std::string& out) {
  Connection c(io.get_executor(), std::move(target));
  if (auto e = co_await c.connect()) {
    out = "error: " + e->message;
    co_return;
  }
  auto r = co_await c.query(sql);
  if (r.error) out = "error: " + r.error->message;
  else if (r.rows.empty() || r.rows[0].empty()) out = "error: no rows";
  else out = r.rows[0][0].value_or("NULL");
}

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s postgres|mysql HOST PORT USER DATABASE TLS_MODE [CA] [SQL]\n", argv[0]);
    return 2;
  }
  std::string protocol = argv[1], mode = argv[6];
  config::Target t;
  t.name = "probe";
  t.address = {argv[2], static_cast<uint16_t>(std::stoi(argv[3]))};
  t.user = argv[4];
  t.database = argv[5];
  t.password_env = "SY_PROBE_PW";
  t.tls.mode = mode == "require"       ? config::BackendTlsMode::Require
               : mode == "verify-full" ? config::BackendTlsMode::VerifyFull
               : mode == "prefer"      ? config::BackendTlsMode::Prefer
                                       : config::BackendTlsMode::Disable;
  if (argc > 7) t.tls.ca = argv[7];
  std::string sql = argc > 8 ? argv[8] : "SELECT 1";
  asio::io_context io;
  std::string out;
  if (protocol == "mysql")
    asio::co_spawn(io, probe<proxy::OwnedMySqlConnection>(io, t, sql, out), asio::detached);
  else
    asio::co_spawn(io, probe<proxy::OwnedPgConnection>(io, t, sql, out), asio::detached);
  io.run();
  std::printf("%s\n", out.c_str());
  return out.rfind("error: ", 0) == 0 ? 1 : 0;
}
