#pragma once
// A socket-free model of one PostgreSQL session's state, so a read can be sent
// to another connection that first replays that state, and refused when the
// state cannot be replayed.
//
// Feed it what the client sends (client_*) and what the server answers
// (completed / ready_for_query / parameter_status). Every client_* call that
// gets a reply queues one pending entry; its effects are applied only when
// completed(true) pairs with it, so a SET the server refused is never
// recorded. An ErrorResponse makes the server skip everything up to the next
// Sync, and the model does the same.
//
// Transactions are modelled as the server runs them: every statement outside
// BEGIN runs in an implicit transaction that ends at ReadyForQuery (so a
// failed multi-statement Query or extended-protocol batch undoes its SETs),
// SET LOCAL lives until the transaction ends, savepoints restore what they
// saw. Prepared statements and session advisory locks are not
// transactional, as on the server. Nothing here throws on bad input.
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
#include "protocol/pg/session_effects.h"

namespace sy::pg {

struct SessionLimits {
  size_t max_parameters = 256;             //!< client-set parameters tracked; over it the state is uncertain
  size_t max_prepared = 1024;              //!< named prepared statements tracked
  size_t max_prepared_bytes = 16u << 20;   //!< total text of tracked prepared statements
  size_t max_objects = 256;                //!< temp tables, LISTEN channels, lock keys, portals, savepoints each
  size_t max_pending = 4096;               //!< requests awaiting replies before the model gives up
};

//! A Parse message to send again: name, text, parameter type OIDs.
struct ParseRequest {
  std::string name;
  std::string sql;
  std::vector<uint32_t> param_types;
  bool operator==(const ParseRequest&) const = default;
};

struct ReplayStep {
  enum class Kind : uint8_t { Sql, Parse };
  Kind kind = Kind::Sql;
  std::string sql;     //!< Kind::Sql: a statement to run with the simple protocol
  ParseRequest parse;  //!< Kind::Parse: a statement to re-prepare with the extended protocol
};

struct Replay {
  proto::Verdict blocked;          //!< not safe(): the state cannot be replayed, and why
  std::vector<ReplayStep> steps;   //!< in order; empty when blocked
  bool ok() const { return blocked.safe(); }
};

class SessionState {
 public:
  explicit SessionState(SessionLimits limits = {}) : limits_(limits) {}

  // ---- what the client sends ----
  //! A parameter of the StartupMessage (user, database and replication are ignored).
  void startup_parameter(std::string_view name, std::string_view value);
  //! A simple Query: one entry per statement, then a sync point.
  void client_query(std::string_view sql);
  void client_parse(std::string_view name, std::string_view sql, std::vector<uint32_t> param_types = {});
  void client_bind(std::string_view portal, std::string_view statement);
  void client_execute(std::string_view portal);
  //! Close: kind 'S' (statement) or 'P' (portal).
  void client_close(char kind, std::string_view name);
  //! Describe: no effect, but it is answered (or fails) like the others.
  void client_describe();
  void client_sync();

  // ---- what the server answers ----
  //! CommandComplete, EmptyQueryResponse, ParseComplete, BindComplete,
  //! CloseComplete, PortalSuspended, Describe's reply: ok; ErrorResponse: not ok.
  void completed(bool ok);
  //! ReadyForQuery with its status byte: 'I', 'T' or 'E'.
  void ready_for_query(char status);
  //! ParameterStatus.
  void parameter_status(std::string_view name, std::string_view value);

  // ---- questions ----
  //! What to run on a fresh connection to give it this session's state.
  Replay replay() const;
  //! May `sql` run on another connection (after replay) right now?
  proto::Verdict safe_elsewhere(std::string_view sql) const;

  // ---- inspection (tests, admin) ----
  //! The value a client-set parameter has now, as SQL (or raw, for set_config),
  //! nullopt when at its default.
  std::optional<std::string> parameter(std::string_view name) const;
  std::vector<std::string> prepared_names() const;
  bool in_transaction() const { return txn_.open && txn_.explicit_block; }
  bool transaction_failed() const { return txn_.open && txn_.failed; }
  bool has_portal(std::string_view name) const { return portals_.count(std::string(name)) > 0; }
  const std::map<std::string, std::string>& server_parameters() const { return server_params_; }
  //! Why the state is uncertain, or empty.
  std::string uncertain() const;
  size_t pending() const { return pending_.size(); }

 private:
  struct Param {
    std::string value;    //!< SQL after "SET name TO", or the raw value when `raw`
    bool raw = false;     //!< set with set_config(): replayed the same way
    std::string blocker;  //!< not empty: cannot be replayed (SET ROLE …)
    uint64_t seq = 0;     //!< when last set: replay keeps this order
    bool operator==(const Param&) const = default;
  };
  //! What a transaction (or savepoint) rollback restores.
  struct Scoped {
    std::map<std::string, Param> params;
    std::map<std::string, Param> local;  //!< SET LOCAL, dropped when the transaction ends
    std::set<std::string> listens;
    std::multiset<std::string> temps;   //!< "" for one whose name could not be read
    std::string unknown;                //!< why parameters are uncertain
    bool operator==(const Scoped&) const = default;
  };
  struct Prepared {
    ParseRequest parse;                   //!< Parse: sent again as Parse
    std::string sql_prepare;              //!< SQL PREPARE: run again as is
    std::string body;                     //!< the statement itself, for EXECUTE
    std::optional<Param> search_path;     //!< search_path when it was prepared (names bind then)
    uint64_t seq = 0;
  };
  struct Txn {
    bool open = false;
    bool explicit_block = false;  //!< BEGIN (or ReadyForQuery 'T'/'E'); else implicit, ends at ReadyForQuery
    bool failed = false;
    bool exact = true;            //!< the start was seen: rollback restores `start` exactly
    Scoped start;
    std::vector<std::pair<std::string, Scoped>> savepoints;
  };
  struct Pending {
    enum class Kind : uint8_t { Statement, Parse, Bind, Execute, Close, Other, Sync } kind;
    std::string name;  //!< Parse/Close: statement or portal; Bind/Execute: portal
    std::string text;  //!< Statement/Parse: SQL; Bind: statement name
    std::vector<uint32_t> types;
    char close_kind = 0;
  };

  void push(Pending p);
  void apply(const Pending& p);
  void apply_statement(std::string_view sql, int depth);
  void apply_effect(const Effect& e, int depth);
  void open_implicit();
  void end_transaction(bool commit);
  void set_param(const std::string& name, Param p, bool local);
  void add_prepared(const std::string& name, Prepared p);
  void drop_prepared(const std::string& name);
  void lose(std::string why);
  std::optional<Param> effective(std::string_view name) const;
  void startup_options(std::string_view options);
  proto::Verdict state_blocker() const;
  ClassifyContext context() const;

  SessionLimits limits_;
  std::map<std::string, std::string> startup_;        //!< values from the StartupMessage
  std::map<std::string, std::string> server_params_;  //!< from ParameterStatus
  Scoped scoped_;
  Txn txn_;
  std::map<std::string, Prepared> prepared_;
  size_t prepared_bytes_ = 0;
  std::string unnamed_;                               //!< text of the unnamed statement
  //! portal ("" unnamed) → its statement's text, nullopt when that statement was not tracked
  std::map<std::string, std::optional<std::string>> portals_;
  proto::HeldLocks locks_;                            //!< advisory lock keys
  std::string prepared_unknown_;                      //!< why the prepared set is incomplete
  std::string startup_unknown_;                       //!< startup options the model could not read
  std::string lost_;                                  //!< why the model stopped following
  std::deque<Pending> pending_;
  uint64_t seq_ = 0;
};

}  // namespace sy::pg
