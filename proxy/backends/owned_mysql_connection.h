#pragma once
// A MySQL/MariaDB connection the proxy opens as itself (the target's `user`
// and `password_env`): MariaDB Connector/C's non-blocking API
// (mysql_*_start/_cont) with its socket watched by Asio, so a worker thread
// never blocks on it. Why a client library rather than our own protocol code:
// see owned_pg_connection.h.
//
// Connector/C picks the authentication plugin the server asks for
// (mysql_native_password, caching_sha2_password with its RSA key exchange,
// ed25519, ...). TLS follows the target's mode as the operator commands do.
//
// Timeouts: connect and each query run under one deadline each. A query that
// misses it cancels the connection (mariadb_cancel, so closing cannot block)
// and closes it; the server notices the closed socket when it next reads or
// writes, so a long statement may run on there a while (KILL QUERY would need
// a second connection).
//
// Parameters: `?` placeholders are replaced by quoted, escaped literals
// (mysql_real_escape_string, which follows the connection's character set and
// NO_BACKSLASH_ESCAPES) before sending: the text protocol, so results come back
// as text like PostgreSQL's, and one round trip instead of prepare + execute.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/backends/owned_connection_base.h"

typedef struct st_mysql MYSQL;  // as mysql.h declares it

namespace sy::proxy {

class OwnedMySqlConnection : private OwnedConnectionBase {
 public:
  OwnedMySqlConnection(boost::asio::any_io_executor ex, config::Target target, OwnedConnectionOptions options = {});
  ~OwnedMySqlConnection();
  OwnedMySqlConnection(const OwnedMySqlConnection&) = delete;
  OwnedMySqlConnection& operator=(const OwnedMySqlConnection&) = delete;

  //! Logs in; nullopt on success. Call once.
  boost::asio::awaitable<std::optional<BackendError>> connect();

  //! One statement with `?` parameters (nullopt = NULL); rows come back as
  //! text. One query at a time per connection. `deadline` replaces the
  //! options' query_timeout when given (a shadow's own deadline); `numbers`
  //! marks parameters to send unquoted (mysql_inline_params.h).
  boost::asio::awaitable<QueryResult> query(std::string sql, std::vector<std::optional<std::string>> params = {},
                                            std::optional<std::chrono::steady_clock::time_point> deadline = {},
                                            std::vector<bool> numbers = {});

  //! Logged in, and no timeout or I/O error since.
  bool usable() const { return mysql_ != nullptr && !busy_; }
  //! The server thread serving this connection (0 when closed).
  unsigned long thread_id() const;
  //! Idempotent. A connection in the middle of an operation is cancelled
  //! first, so the goodbye (COM_QUIT) cannot block.
  void close();

 private:
  //! Runs a _start/_cont pair to the end: `status` is what _start returned,
  //! `cont(ready)` calls _cont. False if `deadline` passed first.
  boost::asio::awaitable<bool> finish(int status, ForeignSocket::Clock::time_point deadline, bool rewatch,
                                      std::function<int(int)> cont);
  BackendError server_error() const;  //!< mysql_error/mysql_sqlstate; lost for client-side (CR_*) errors
  BackendError lost(std::string what);  //!< closes, then the error

  MYSQL* mysql_ = nullptr;
};

}  // namespace sy::proxy
