#pragma once
// A socket-free model of one MySQL session's state, so a read can go to
// another connection that first replays it, and stays put when it cannot.
//
// Feed it the client's commands (client_*) and the end of each reply
// (completed / prepare_ok, with the reply's status flags when known). Every
// command that is answered queues one pending entry per statement; effects
// apply only on success, and an error ends the rest of a multi-statement
// COM_QUERY, as the server does. MySQL session variables are not
// transactional, so nothing is undone by ROLLBACK. Nothing here throws.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/held_locks.h"
#include "protocol/common/session_verdict.h"
#include "protocol/mysql/session_effects.h"

namespace sy::mysql {

struct SessionLimits {
  size_t max_variables = 256;             //!< system + user variables tracked; over it the state is uncertain
  size_t max_prepared = 1024;             //!< prepared statements (COM_STMT_PREPARE and SQL PREPARE)
  size_t max_prepared_bytes = 16u << 20;  //!< their total text
  size_t max_objects = 256;               //!< temporary tables, named locks
  size_t max_pending = 4096;              //!< statements awaiting replies before the model gives up
};

//! A COM_STMT_PREPARE to send again; the caller maps the new server id to `client_id`.
struct PreparedStatement {
  uint32_t client_id = 0;
  std::string sql;
  uint16_t num_params = 0;
  bool operator==(const PreparedStatement&) const = default;
};

struct Replay {
  proto::Verdict blocked;                   //!< not safe(): cannot be replayed, and why
  std::vector<std::string> statements;      //!< COM_QUERY texts, in order (USE, SET, PREPARE … FROM)
  std::vector<PreparedStatement> prepared;  //!< COM_STMT_PREPARE, after the statements, by client id
  bool ok() const { return blocked.safe(); }
};

class SessionState {
 public:
  explicit SessionState(SessionLimits limits = {}) : limits_(limits) {}

  // ---- what the client sends ----
  //! The database of the handshake (CLIENT_CONNECT_WITH_DB).
  void initial_database(std::string_view db) { database_ = std::string(db); }
  void client_query(std::string_view sql);      //!< COM_QUERY
  void client_init_db(std::string_view db);     //!< COM_INIT_DB
  void client_stmt_prepare(std::string_view sql);
  void client_stmt_execute(uint32_t id);
  void client_stmt_close(uint32_t id);          //!< not answered: applies at once
  void client_stmt_reset(uint32_t id);
  void client_reset_connection();
  void client_change_user(std::string_view db);
  //! Any other answered command (COM_PING, COM_STATISTICS, COM_FIELD_LIST, COM_STMT_FETCH …).
  void client_other();

  // ---- what the server answers ----
  //! The reply to one statement ended: OK / EOF / end of rows (ok) or ERR.
  //! `status`: the server status flags of that last packet, when it had them.
  void completed(bool ok, std::optional<uint16_t> status = std::nullopt);
  //! COM_STMT_PREPARE_OK (the definitions that follow are the caller's business).
  void prepare_ok(uint32_t statement_id, uint16_t num_params);

  // ---- questions ----
  Replay replay() const;
  proto::Verdict safe_elsewhere(std::string_view sql) const;

  // ---- inspection ----
  const std::optional<std::string>& database() const { return database_; }
  std::optional<std::string> variable(std::string_view name) const;       //!< canonical SQL literal
  std::optional<std::string> user_variable(std::string_view name) const;
  std::optional<PreparedStatement> prepared(uint32_t id) const;
  bool autocommit() const { return autocommit_; }
  bool in_transaction() const { return in_transaction_; }
  std::string uncertain() const;
  size_t pending() const { return pending_.size(); }

 private:
  struct Var {
    std::string sql;  //!< the whole statement to replay it
    std::string value;
    uint64_t seq = 0;
  };
  struct Pending {
    enum class Kind : uint8_t { Statement, InitDb, Prepare, Execute, Reset, ChangeUser, Other } kind;
    std::string text;
    uint32_t id = 0;
    uint64_t group = 0;  //!< statements of one COM_QUERY: an error ends the rest
  };

  void push(Pending p);
  void apply(const Pending& p);
  void apply_statement(std::string_view sql, int depth);
  void apply_effect(const Effect& e, int depth);
  void set_var(const std::string& key, Var v);
  bool add_prepared_bytes(size_t bytes);
  void reset_session();
  void lose(std::string why);
  proto::Verdict state_blocker() const;

  SessionLimits limits_;
  std::optional<std::string> database_;
  std::map<std::string, Var> vars_;  //!< "sys:x", "user:x", "names", "character set", "transaction"
  std::map<uint32_t, PreparedStatement> prepared_;
  struct SqlPrepared {
    std::string replay_sql;
    std::string body;
    uint64_t seq = 0;
  };
  std::map<std::string, SqlPrepared> sql_prepared_;
  size_t prepared_bytes_ = 0;
  std::multiset<std::string> temps_;
  proto::HeldLocks locks_;  //!< GET_LOCK names
  bool table_locks_ = false;
  std::string unreplayable_;
  std::string unknown_;           //!< why variables are uncertain (reset by COM_RESET_CONNECTION)
  std::string prepared_unknown_;  //!< why the prepared set is incomplete
  std::string lost_;              //!< the model stopped following
  bool autocommit_ = true;
  bool in_transaction_ = false;
  bool no_backslash_escapes_ = false;
  std::deque<Pending> pending_;
  uint64_t group_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace sy::mysql
