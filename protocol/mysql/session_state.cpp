#include "protocol/mysql/session_state.h"

#include <algorithm>

#include "protocol/common/sql_scan.h"
#include "protocol/common/temp_tables.h"
#include "protocol/mysql/packet.h"
#include "rewrite/sql_text.h"

namespace sy::mysql {

using proto::Hazard;
using proto::Verdict;

namespace {
constexpr uint16_t kStatusAutocommit = 0x0002;
constexpr uint16_t kStatusNoBackslashEscapes = 0x0200;
constexpr int kMaxDepth = 2;  // EXECUTE of a prepared statement, which cannot itself be EXECUTE

std::optional<bool> truth(std::string_view v) {
  auto s = proto::lower(v);
  if (s == "1" || s == "on" || s == "true" || s == "'on'" || s == "'1'") return true;
  if (s == "0" || s == "off" || s == "false" || s == "'off'" || s == "'0'") return false;
  return std::nullopt;
}
}  // namespace

// ---------------------------------------------------------------- client side

void SessionState::push(Pending p) {
  if (!lost_.empty()) return;
  if (pending_.size() >= limits_.max_pending) return lose("more requests in flight than the model follows");
  pending_.push_back(std::move(p));
}

void SessionState::client_query(std::string_view sql) {
  ++group_;
  auto statements = proto::split_statements(sql, proto::Dialect::Mysql);
  if (statements.empty()) push({.kind = Pending::Kind::Statement, .group = group_});  // answered by an error
  for (auto s : statements) push({.kind = Pending::Kind::Statement, .text = std::string(s), .group = group_});
}

void SessionState::client_init_db(std::string_view db) {
  push({.kind = Pending::Kind::InitDb, .text = std::string(db), .group = ++group_});
}

void SessionState::client_stmt_prepare(std::string_view sql) {
  push({.kind = Pending::Kind::Prepare, .text = std::string(sql), .group = ++group_});
}

void SessionState::client_stmt_execute(uint32_t id) {
  push({.kind = Pending::Kind::Execute, .id = id, .group = ++group_});
}

void SessionState::client_stmt_close(uint32_t id) {
  if (!lost_.empty()) return;
  auto it = prepared_.find(id);
  if (it == prepared_.end()) return;
  prepared_bytes_ -= std::min(prepared_bytes_, it->second.sql.size());
  prepared_.erase(it);
}

void SessionState::client_stmt_reset(uint32_t) { client_other(); }  // resets long data only

void SessionState::client_reset_connection() { push({.kind = Pending::Kind::Reset, .group = ++group_}); }

void SessionState::client_change_user(std::string_view db) {
  push({.kind = Pending::Kind::ChangeUser, .text = std::string(db), .group = ++group_});
}

void SessionState::client_other() { push({.kind = Pending::Kind::Other, .group = ++group_}); }

// ---------------------------------------------------------------- server side

void SessionState::completed(bool ok, std::optional<uint16_t> status) {
  if (!lost_.empty()) return;
  if (pending_.empty()) return lose("a reply arrived with no request waiting for it");
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (ok) {
    if (p.kind == Pending::Kind::Prepare) return lose("COM_STMT_PREPARE answered without its statement id");
    apply(p);
  } else {
    while (!pending_.empty() && pending_.front().group == p.group) pending_.pop_front();
  }
  if (status) {  // the server's word beats what the statements suggested
    in_transaction_ = (*status & kServerStatusInTrans) != 0;
    autocommit_ = (*status & kStatusAutocommit) != 0;
    no_backslash_escapes_ = (*status & kStatusNoBackslashEscapes) != 0;
  }
}

void SessionState::prepare_ok(uint32_t statement_id, uint16_t num_params) {
  if (!lost_.empty()) return;
  if (pending_.empty() || pending_.front().kind != Pending::Kind::Prepare)
    return lose("COM_STMT_PREPARE_OK for no COM_STMT_PREPARE");
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (prepared_.count(statement_id)) client_stmt_close(statement_id);  // ids are not reused while open
  if (prepared_.size() >= limits_.max_prepared || !add_prepared_bytes(p.text.size())) {
    prepared_unknown_ = "more prepared statements than the model tracks (" + std::to_string(limits_.max_prepared) +
                        " or " + std::to_string(limits_.max_prepared_bytes) + " bytes)";
    return;
  }
  prepared_[statement_id] = {statement_id, std::move(p.text), num_params};
}

// ---------------------------------------------------------------- effects

void SessionState::lose(std::string why) {
  lost_ = std::move(why);
  pending_.clear();
}

bool SessionState::add_prepared_bytes(size_t bytes) {
  if (prepared_bytes_ + bytes > limits_.max_prepared_bytes) return false;
  prepared_bytes_ += bytes;
  return true;
}

void SessionState::reset_session() {
  // COM_RESET_CONNECTION: transaction rolled back, variables back to global,
  // user variables, prepared statements, temporary tables and locks gone.
  // The current database stays.
  vars_.clear();
  prepared_.clear();
  sql_prepared_.clear();
  prepared_bytes_ = 0;
  temps_.clear();
  locks_.release_all();
  table_locks_ = false;
  unreplayable_.clear();
  unknown_.clear();
  prepared_unknown_.clear();
  autocommit_ = true;
  in_transaction_ = false;
}

void SessionState::apply(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::Statement: return apply_statement(p.text, 0);
    case Pending::Kind::InitDb: database_ = p.text; return;
    case Pending::Kind::Execute: {
      auto it = prepared_.find(p.id);
      if (it == prepared_.end()) {
        if (unknown_.empty() && !prepared_unknown_.empty()) unknown_ = "executed a statement the model did not track";
        return;
      }
      auto text = it->second.sql;
      return apply_statement(text, 1);
    }
    case Pending::Kind::Reset: return reset_session();
    case Pending::Kind::ChangeUser:
      reset_session();
      database_ = p.text.empty() ? std::nullopt : std::optional<std::string>(p.text);
      return;
    case Pending::Kind::Prepare:
    case Pending::Kind::Other: return;
  }
}

void SessionState::apply_statement(std::string_view sql, int depth) {
  ClassifyContext ctx{.no_backslash_escapes = no_backslash_escapes_};
  for (const auto& e : statement_effects(sql, ctx)) apply_effect(e, depth);
}

void SessionState::set_var(const std::string& key, Var v) {
  if (!vars_.count(key) && vars_.size() >= limits_.max_variables) {
    if (unknown_.empty()) unknown_ = "more than " + std::to_string(limits_.max_variables) + " variables set";
    return;
  }
  v.seq = ++seq_;
  vars_[key] = std::move(v);
}

void SessionState::apply_effect(const Effect& e, int depth) {
  auto note_unknown = [&](std::string why) {
    if (unknown_.empty()) unknown_ = std::move(why);
  };
  switch (e.kind) {
    case EffectKind::Begin: in_transaction_ = true; return;
    case EffectKind::Commit:
    case EffectKind::Rollback: in_transaction_ = false; return;
    case EffectKind::SetVar:
      if (e.name == "autocommit") {
        auto on = truth(e.value);
        if (!on) return note_unknown("autocommit set to a value the model could not read");
        autocommit_ = *on;
        if (*on) in_transaction_ = false;  // SET autocommit=1 commits
      }
      return set_var("sys:" + e.name, {.sql = "SET SESSION " + rewrite::quote_mysql_ident(e.name) + " = " + e.value,
                                       .value = e.value});
    case EffectKind::ResetVar:
      if (e.name == "autocommit") autocommit_ = true;  // the server default; status flags correct it
      vars_.erase("sys:" + e.name);
      return;
    case EffectKind::SetUserVar:
      return set_var("user:" + e.name, {.sql = "SET @" + rewrite::quote_mysql_ident(e.name) + " = " + e.value,
                                        .value = e.value});
    case EffectKind::SetStatement: return set_var(e.name, {.sql = e.value, .value = e.value});
    case EffectKind::Unreplayable: unreplayable_ = e.value; return;
    case EffectKind::Use: database_ = e.name; return;
    case EffectKind::Prepare: {
      if (auto it = sql_prepared_.find(e.name); it != sql_prepared_.end()) {
        prepared_bytes_ -= std::min(prepared_bytes_, it->second.body.size());
        sql_prepared_.erase(it);
      }
      if (prepared_.size() + sql_prepared_.size() >= limits_.max_prepared || !add_prepared_bytes(e.body.size())) {
        prepared_unknown_ = "more prepared statements than the model tracks";
        return;
      }
      sql_prepared_[e.name] = {e.value, e.body, ++seq_};
      return;
    }
    case EffectKind::Deallocate:
      if (auto it = sql_prepared_.find(e.name); it != sql_prepared_.end()) {
        prepared_bytes_ -= std::min(prepared_bytes_, it->second.body.size());
        sql_prepared_.erase(it);
      }
      return;
    case EffectKind::Execute: {
      auto it = sql_prepared_.find(e.name);
      if (it == sql_prepared_.end()) {
        if (!prepared_unknown_.empty()) note_unknown("EXECUTE of a statement the model did not track");
        return;
      }
      if (depth >= kMaxDepth) return note_unknown("EXECUTE nested too deep");
      auto body = it->second.body;
      return apply_statement(body, depth + 1);
    }
    case EffectKind::CreateTemp:
      if (temps_.size() >= limits_.max_objects) note_unknown("more temporary tables than the model tracks");
      temps_.insert(e.name);
      return;
    case EffectKind::Drop:
      return proto::drop_temps(temps_, e.names);
    case EffectKind::GetLock: return locks_.take(e.name, limits_.max_objects);
    case EffectKind::ReleaseLock: return locks_.release(e.name);
    case EffectKind::ReleaseAllLocks: return locks_.release_all();
    case EffectKind::UnknownLock: return locks_.take_unknown();
    case EffectKind::LockTables: table_locks_ = true; return;
    case EffectKind::UnlockTables: table_locks_ = false; return;
    case EffectKind::Unknown: return note_unknown(e.value);
  }
}

// ---------------------------------------------------------------- questions

std::optional<std::string> SessionState::variable(std::string_view name) const {
  auto it = vars_.find("sys:" + proto::lower(name));
  if (it == vars_.end()) return std::nullopt;
  return it->second.value;
}

std::optional<std::string> SessionState::user_variable(std::string_view name) const {
  auto it = vars_.find("user:" + proto::lower(name));
  if (it == vars_.end()) return std::nullopt;
  return it->second.value;
}

std::optional<PreparedStatement> SessionState::prepared(uint32_t id) const {
  auto it = prepared_.find(id);
  if (it == prepared_.end()) return std::nullopt;
  return it->second;
}

std::string SessionState::uncertain() const {
  for (const auto* why : {&lost_, &unknown_, &prepared_unknown_})
    if (!why->empty()) return *why;
  return {};
}

Verdict SessionState::state_blocker() const {
  if (auto why = uncertain(); !why.empty()) return {Hazard::Uncertain, "session state is uncertain: " + why};
  if (in_transaction_) return {Hazard::Transaction, "a transaction is open"};
  if (!temps_.empty()) return {Hazard::TempTables, "the session created temporary tables"};
  if (locks_.any()) return {Hazard::Locks, "the session holds named locks (GET_LOCK)"};
  if (table_locks_) return {Hazard::Locks, "the session holds table locks"};
  if (!unreplayable_.empty()) return {Hazard::NotReplayable, unreplayable_};
  return {};
}

Replay SessionState::replay() const {
  Replay out;
  out.blocked = pending_.empty() ? state_blocker() : proto::replies_pending();
  if (!out.ok()) return out;
  if (database_) out.statements.push_back("USE " + rewrite::quote_mysql_ident(*database_));
  // In the order each was last set: SET NAMES and character_set_client, say,
  // overwrite each other, and the last one must win.
  std::vector<const Var*> vars;
  for (const auto& kv : vars_) vars.push_back(&kv.second);
  std::sort(vars.begin(), vars.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  for (const auto* v : vars) out.statements.push_back(v->sql);
  std::vector<const SqlPrepared*> sql_prepared;
  for (const auto& kv : sql_prepared_) sql_prepared.push_back(&kv.second);
  std::sort(sql_prepared.begin(), sql_prepared.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  for (const auto* p : sql_prepared) out.statements.push_back(p->replay_sql);
  for (const auto& kv : prepared_) out.prepared.push_back(kv.second);
  return out;
}

Verdict SessionState::safe_elsewhere(std::string_view sql) const {
  if (!pending_.empty()) return proto::replies_pending();
  if (auto v = state_blocker(); !v.safe()) return v;
  if (!autocommit_) return {Hazard::Transaction, "autocommit is off: every statement runs in a transaction"};
  ClassifyContext ctx{.no_backslash_escapes = no_backslash_escapes_};
  for (auto statement : proto::split_statements(sql, proto::Dialect::Mysql)) {
    for (const auto& e : statement_effects(statement, ctx)) {
      if (e.kind == EffectKind::Execute) {
        auto it = sql_prepared_.find(e.name);
        if (it != sql_prepared_.end() && statement_effects(it->second.body, ctx).empty()) continue;
      }
      return {Hazard::SessionStatement, "the statement changes session state"};
    }
    if (auto why = connection_bound(statement); !why.empty()) return {Hazard::SessionStatement, std::string(why)};
  }
  return {};
}

}  // namespace sy::mysql
