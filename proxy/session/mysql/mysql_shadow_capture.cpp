// What a MySQL session hands to its worker's shadow runner: sampled
// autocommit reads that the read switch touches, as COM_QUERY or as a
// prepared statement's COM_STMT_EXECUTE with its parameters spelled as the
// text protocol would (numbers unquoted, so `LIMIT ?` works). Prepares are
// paired with the server's answers (statement ids) in the order they were
// sent, from a moment no command was outstanding. The shadow runs on
// the proxy's own connection in the session's login database; once the
// client moves to another database (COM_INIT_DB, USE, COM_CHANGE_USER) the
// session's reads are no longer shadowed, since that connection would read
// other tables. The client's own packets go out unchanged whatever happens here.
#include <algorithm>

#include "protocol/mysql/packet.h"
#include "protocol/mysql/stmt_execute.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/session/mysql/mysql_session.h"
#include "proxy/shadow/shadow_runner.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

namespace {

// The statement's first word is USE (comments and whitespace before it skipped).
bool starts_with_use(std::string_view sql) {
  auto toks = rewrite::lex_sql(sql.substr(0, std::min<size_t>(sql.size(), 256)), rewrite::Dialect::Mysql);
  return !toks.empty() && rewrite::is_keyword(sql, toks.front(), "USE");
}

}  // namespace

void MySqlSession::capture_read(std::string_view sql, config::Phase phase,
                                const std::shared_ptr<const rewrite::Decision>& decision) {
  const auto& cfg = tenant_->cfg;
  if (!ShadowRunner::shadows(cfg, deps_.listener->cfg, phase)) return;
  if (shadow_database_moved_) return;
  if (starts_with_use(sql)) {
    shadow_database_moved_ = true;
    return;
  }
  if (server().tracker.in_transaction()) return;
  // In dual_write the client is served the original; the shadow also needs
  // the switched form, which the read-switch decision holds (this worker's
  // cache: a lookup once the text was seen).
  auto switched = phase == config::Phase::DualWrite
                      ? tenant_->rewriter->decide(*deps_.decisions, sql, config::Phase::ReadSwitch, false,
                                                  rewrite::Dialect::Mysql)
                      : decision;
  if (!switched || !switched->read_shape || switched->action != rewrite::Decision::Action::Rewrite) return;
  if (!deps_.shadow->sample(cfg, switched->fingerprint)) return;
  ShadowRequest r;
  r.tenant = tenant_;
  r.listener = deps_.listener;
  r.database = database_;
  r.phase = phase;
  r.original = std::string(sql);
  r.switched = std::move(switched);
  deps_.shadow->submit(std::move(r));
}

void MySqlSession::capture_prepare(std::string_view sql, config::Phase phase,
                                   const std::shared_ptr<const rewrite::Decision>& decision) {
  next_prepare_.reset();
  const auto& cfg = tenant_->cfg;
  if (!cfg.shadow || prepares_lost_) return;
  if (!following_prepares_) {
    // Start pairing only with nothing outstanding: every answer from here on
    // belongs to a prepare this session has seen.
    if (!server().tracker.idle() || server().tracker.lost()) return;
    following_prepares_ = true;
  }
  if (!ShadowRunner::shadows(cfg, deps_.listener->cfg, phase)) return;
  auto switched = phase == config::Phase::DualWrite
                      ? tenant_->rewriter->decide(*deps_.decisions, sql, config::Phase::ReadSwitch, true,
                                                  rewrite::Dialect::Mysql)
                      : decision;
  if (!switched || !switched->read_shape || switched->action != rewrite::Decision::Action::Rewrite) return;
  next_prepare_ = ShadowStatement{std::string(sql), std::move(switched), phase};
}

void MySqlSession::note_prepare_sent() {
  if (!following_prepares_) return next_prepare_.reset();
  if (prepares_sent_.size() >= kMaxShadowStatements) return stop_following_prepares();
  prepares_sent_.push_back(std::exchange(next_prepare_, std::nullopt));
}

void MySqlSession::note_prepare_reply(bool ok, uint32_t statement_id, uint16_t params) {
  if (!following_prepares_) return;
  if (prepares_sent_.empty()) return stop_following_prepares();  // an answer to nothing seen: lost step
  auto st = std::move(prepares_sent_.front());
  prepares_sent_.pop_front();
  if (!ok) return;
  last_prepared_id_ = statement_id;
  shadow_statements_.erase(statement_id);  // ids are reused after a close
  if (!st || shadow_statements_.size() >= kMaxShadowStatements) return;
  st->params = params;
  shadow_statements_.emplace(statement_id, std::move(*st));
}

void MySqlSession::stop_following_prepares() {
  following_prepares_ = false;
  prepares_lost_ = true;
  next_prepare_.reset();
  prepares_sent_.clear();
  shadow_statements_.clear();
}

void MySqlSession::note_command(uint8_t cmd, std::string_view payload, bool whole) {
  namespace my = sy::mysql;
  if (cmd == my::kComInitDb || cmd == my::kComChangeUser) shadow_database_moved_ = true;
  if (cmd == my::kComStmtPrepare) return note_prepare_sent();  // one of 16 MiB or more: never shadowed
  if (cmd == my::kComResetConnection || cmd == my::kComChangeUser) {
    shadow_statements_.clear();  // the server closed them all
    return;
  }
  if (shadow_statements_.empty()) return;
  if (cmd == my::kComStmtExecute) return capture_execute(payload, whole);
  if (cmd != my::kComStmtClose && cmd != my::kComStmtSendLongData && cmd != my::kComStmtReset) return;
  auto id = my::execute_statement_id(payload);
  auto it = id ? shadow_statements_.find(*id) : shadow_statements_.end();
  if (it == shadow_statements_.end()) return;
  if (cmd == my::kComStmtClose) shadow_statements_.erase(it);
  else it->second.long_data = cmd == my::kComStmtSendLongData;
}

void MySqlSession::capture_execute(std::string_view payload, bool whole) {
  auto id = sy::mysql::execute_statement_id(payload);
  if (!id) return;
  if (*id == 0xffffffffu) id = last_prepared_id_;  // MariaDB: the statement prepared last
  auto it = shadow_statements_.find(*id);
  if (it == shadow_statements_.end()) return;
  auto& st = it->second;
  const bool long_data = std::exchange(st.long_data, false);
  // Types bound now hold for later executes, sampled or not.
  std::optional<sy::mysql::ExecuteParams> decoded;
  if (whole && payload.size() <= kShadowExecuteLimit) {
    decoded = sy::mysql::decode_execute(payload, st.params, st.types);
    if (decoded) st.types = decoded->types;
  }
  tenant_phase();  // picks up flag changes (a sample_percent PATCH) between executes
  if (!tenant_ || shadow_database_moved_ || server().tracker.in_transaction()) return;
  const auto& cfg = tenant_->cfg;
  if (!ShadowRunner::shadows(cfg, deps_.listener->cfg, st.phase)) return;
  if (!deps_.shadow->sample(cfg, st.switched->fingerprint)) return;
  // Parameters streamed as long data or in a packet not held whole are not
  // kept: that shadow is dropped, counted.
  if (long_data || !whole || payload.size() > kShadowExecuteLimit) return deps_.shadow->drop(cfg.name, DropReason::TooLarge);
  if (!decoded) return deps_.shadow->drop(cfg.name, DropReason::NotComparable);
  ShadowRequest r;
  r.tenant = tenant_;
  r.listener = deps_.listener;
  r.database = database_;
  r.phase = st.phase;
  r.original = st.sql;
  r.switched = st.switched;
  r.params.values = std::move(decoded->values);
  for (bool n : decoded->numeric) r.params.formats.push_back(n ? 1 : 0);
  deps_.shadow->submit(std::move(r));
}

}  // namespace sy::proxy
