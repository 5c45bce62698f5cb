#pragma once
// A plain blocking SQL connection for the operator commands (verify,
// backfill), which run once from a shell: libpq for PostgreSQL targets and
// MariaDB Connector/C for MySQL ones. Sessions never use it.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/backends/text_rows.h"
#include "rewrite/sql_lexer.h"

namespace sy::proxy {

struct DbError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

//! Where a tenant's rows live, and how to log in there.
struct OpsTarget {
  const config::Tenant* tenant = nullptr;
  const config::Listener* listener = nullptr;
  const config::Target* target = nullptr;
  std::string database;
  std::string describe() const;  //!< `target "legacy" at host:port, database app`
  rewrite::Dialect dialect() const {
    return listener->protocol == config::Protocol::Mysql ? rewrite::Dialect::Mysql : rewrite::Dialect::Postgres;
  }
};

//! The tenant's listener (its `match.listener`, or the only listener) and
//! that listener's primary target, or `target_name` when given. Throws
//! DbError naming what is missing.
OpsTarget resolve_ops_target(const config::Config& cfg, const std::string& tenant, const std::string& target_name);

class DbClient {
 public:
  using Row = TextRow;  //!< text values; nullopt is NULL
  struct Result {
    std::vector<Row> rows;
    uint64_t affected = 0;  //!< rows an UPDATE changed
  };
  virtual ~DbClient() = default;
  //! One statement; throws DbError with the server's message.
  virtual Result run(const std::string& sql) = 0;
};

//! Logs in as the target's `user` with the password from `password_env`,
//! honouring its TLS mode. Throws DbError.
std::unique_ptr<DbClient> connect_db(const OpsTarget& where, const std::string& application_name);

}  // namespace sy::proxy
