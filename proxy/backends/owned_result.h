#pragma once
// What a connection the proxy logged into itself (OwnedPgConnection,
// OwnedMySqlConnection) answers: errors are values, never exceptions, so a
// shadow read or a routed read can fall back without unwinding anything.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/backends/text_rows.h"

namespace sy::proxy {

struct BackendError {
  std::string message;           //!< `target "x" at host:port: ...`
  std::string sqlstate;          //!< the server's SQLSTATE; empty when the error is ours (timeout, I/O)
  bool connection_lost = false;  //!< the connection is closed and unusable (login failure, timeout, I/O)
};

struct ResultColumn {
  std::string name;
  uint32_t type = 0;  //!< PostgreSQL type OID; MySQL enum_field_types
};

struct QueryResult {
  std::vector<ResultColumn> columns;
  std::vector<TextRow> rows;
  std::string command_tag;  //!< PostgreSQL's (`SELECT 2`, `UPDATE 1`); empty for MySQL
  uint64_t affected = 0;    //!< rows an INSERT/UPDATE/DELETE changed
  std::optional<BackendError> error;
  //! In a pipeline: from the previous statement's answer (or the sending) to
  //! this one's, i.e. the server's execution time plus the wire. The server
  //! is asked to flush after each statement, so these are per statement.
  std::chrono::microseconds elapsed{0};
  bool ok() const { return !error; }
};

//! Parameters replayed as a client bound them: each value in its format
//! (0 text, 1 binary) with its type OID (0: the server infers it, as it did
//! for the client's Parse).
struct PgParams {
  std::vector<std::optional<std::string>> values;  //!< nullopt is NULL
  std::vector<int> formats;
  std::vector<uint32_t> types;
};

//! One statement of a pipeline; `params` null for none.
struct PgStatement {
  std::string_view sql;
  const PgParams* params = nullptr;
};

struct OwnedConnectionOptions {
  //! resolve + TCP + TLS + login, as one deadline
  std::chrono::milliseconds connect_timeout{5000};
  //! each query, sending to last row; when it passes the connection is closed
  std::chrono::milliseconds query_timeout{30000};
  //! empty = the target's `database`
  std::string database;
  //! PostgreSQL application_name, MySQL program_name attribute
  std::string application_name = "switchyard";
  //! PostgreSQL: every transaction read-only (default_transaction_read_only),
  //! so a single statement needs no BEGIN READ ONLY of its own to be safe.
  bool read_only = false;
};

}  // namespace sy::proxy
