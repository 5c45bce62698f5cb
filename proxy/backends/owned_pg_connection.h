#pragma once
// A PostgreSQL connection the proxy opens as itself (the target's `user` and
// `password_env`), for shadow reads, routed reads and checks: libpq in
// non-blocking mode, its socket watched by Asio, so a worker thread never
// blocks on it.
//
// Why libpq (and Connector/C for MySQL) rather than our own protocol code:
// logging in is the part of the wire protocol that keeps growing (SCRAM-SHA-256
// with channel binding, MD5, TLS modes and certificate checks, GSS, and for
// MySQL caching_sha2_password with its RSA exchange and ed25519), and the
// libraries the servers' own vendors ship get each of them right and keep up.
// Both have a documented non-blocking API (PQconnectPoll/PQconsumeInput,
// mysql_*_start/_cont) that hands us the socket to wait on, which is all an
// event loop needs. Results come as text values, which is what comparing and
// routing want. The price: a copy of each row in the library's memory and the
// password held by the library for the connection's life.
//
// Timeouts: connect (resolve + TCP + TLS + login) and each query run under one
// deadline each. A query that misses it closes the connection: libpq 15 has
// no non-blocking cancel (PQcancel connects and waits synchronously), so
// instead the server is told `statement_timeout` = query timeout + 1 s at login
// and abandons the statement itself shortly after we gave up on it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/backends/owned_connection_base.h"

typedef struct pg_conn PGconn;  // as libpq-fe.h declares it

namespace sy::proxy {

class OwnedPgConnection : private OwnedConnectionBase {
 public:
  OwnedPgConnection(boost::asio::any_io_executor ex, config::Target target, OwnedConnectionOptions options = {});
  ~OwnedPgConnection();
  OwnedPgConnection(const OwnedPgConnection&) = delete;
  OwnedPgConnection& operator=(const OwnedPgConnection&) = delete;

  //! Logs in; nullopt on success. Call once.
  boost::asio::awaitable<std::optional<BackendError>> connect();

  //! One statement with $1.. parameters as text (nullopt = NULL); rows come
  //! back as text. One query at a time per connection.
  boost::asio::awaitable<QueryResult> query(std::string sql, std::vector<std::optional<std::string>> params = {});

  //! Several statements sent at once in libpq's pipeline mode and answered
  //! in one round trip, one result each (text rows whatever the parameters'
  //! formats). After an error the server skips the rest up to the end of the
  //! pipeline, which also ends an open transaction: those results hold the
  //! error "skipped". `deadline` bounds the whole exchange; missing it closes
  //! the connection.
  boost::asio::awaitable<std::vector<QueryResult>> pipeline(std::vector<PgStatement> statements,
                                                            std::chrono::steady_clock::time_point deadline);

  //! What LISTEN delivers: the payloads that arrived (in order), or an error
  //! when the connection was lost meanwhile.
  struct Notifications {
    std::vector<std::string> payloads;
    std::optional<BackendError> error;
  };
  //! Notifications already received, or the first ones to arrive before
  //! `deadline` (none: the deadline passed). Between queries only.
  boost::asio::awaitable<Notifications> notifications(std::chrono::steady_clock::time_point deadline);

  //! Logged in, and no timeout or I/O error since.
  bool usable() const { return conn_ != nullptr && !busy_; }
  //! The server process serving this connection (0 when closed).
  int backend_pid() const;
  //! Idempotent; does not block (libpq is in non-blocking mode).
  void close();

 private:
  BackendError lost(std::string what);  //!< closes, then the error

  PGconn* conn_ = nullptr;
};

}  // namespace sy::proxy
