#include "protocol/pg/session_state.h"

#include <algorithm>
#include <cctype>

#include "protocol/common/sql_scan.h"
#include "protocol/common/temp_tables.h"
#include "rewrite/sql_text.h"

namespace sy::pg {

using proto::Hazard;
using proto::Verdict;

namespace {

// Deep enough for EXECUTE of a prepared statement; a prepared statement
// cannot itself be EXECUTE, so more nesting means bad input.
constexpr int kMaxDepth = 2;

bool simple_name(std::string_view part) {
  if (part.empty() || std::isdigit(static_cast<unsigned char>(part[0])) || part[0] == '$') return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
  });
}

// A parameter name as SQL: bare when it is a plain lower-case name (a.b too),
// else each part quoted.
std::string name_sql(std::string_view name) {
  std::string out;
  size_t start = 0;
  for (;;) {
    auto dot = name.find('.', start);
    auto part = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!out.empty()) out += '.';
    out += simple_name(part) ? std::string(part) : rewrite::quote_ident(part);
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::string raw_set_sql(std::string_view name, std::string_view value) {
  return "SELECT pg_catalog.set_config(" + rewrite::quote_literal(name) + ", " + rewrite::quote_literal(value) +
         ", false)";
}

}  // namespace

// ---------------------------------------------------------------- client side

void SessionState::startup_parameter(std::string_view name, std::string_view value) {
  auto key = proto::lower(name);
  if (key == "user" || key == "database" || key == "replication") return;
  if (key == "options") return startup_options(value);
  if (startup_.size() >= limits_.max_parameters && !startup_.count(key)) {
    startup_unknown_ = "more startup parameters than the model tracks";
    return;
  }
  startup_[key] = std::string(value);
}

// "-c name=value" / "--name=value" pairs; a backslash escapes the next byte.
void SessionState::startup_options(std::string_view options) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < options.size(); ++i) {
    char c = options[i];
    if (c == '\\' && i + 1 < options.size()) {
      words.back().push_back(options[++i]);
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (!words.back().empty()) words.emplace_back();
    } else {
      words.back().push_back(c);
    }
  }
  if (words.back().empty()) words.pop_back();
  for (size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (words[i].starts_with("-c")) {
      setting = words[i].substr(2);
    } else if (words[i].starts_with("--")) {
      setting = words[i].substr(2);
    } else {
      startup_unknown_ = "startup options that are not -c settings";
      return;
    }
    auto eq = setting.find('=');
    if (eq == std::string::npos || eq == 0) {
      startup_unknown_ = "a startup option without a value";
      return;
    }
    auto name = proto::lower(setting.substr(0, eq));
    std::replace(name.begin(), name.end(), '-', '_');  // --search-path=x is search_path
    startup_parameter(name, std::string_view(setting).substr(eq + 1));
  }
}

void SessionState::push(Pending p) {
  if (!lost_.empty()) return;
  if (pending_.size() >= limits_.max_pending) return lose("more requests in flight than the model follows");
  pending_.push_back(std::move(p));
}

void SessionState::client_query(std::string_view sql) {
  auto statements = proto::split_statements(sql, proto::Dialect::Postgres);
  if (statements.empty()) push({.kind = Pending::Kind::Statement});  // answered by EmptyQueryResponse
  for (auto s : statements) push({.kind = Pending::Kind::Statement, .text = std::string(s)});
  push({.kind = Pending::Kind::Sync});
}

void SessionState::client_parse(std::string_view name, std::string_view sql, std::vector<uint32_t> param_types) {
  push({.kind = Pending::Kind::Parse, .name = std::string(name), .text = std::string(sql), .types = std::move(param_types)});
}

void SessionState::client_bind(std::string_view portal, std::string_view statement) {
  push({.kind = Pending::Kind::Bind, .name = std::string(portal), .text = std::string(statement)});
}

void SessionState::client_execute(std::string_view portal) {
  push({.kind = Pending::Kind::Execute, .name = std::string(portal)});
}

void SessionState::client_close(char kind, std::string_view name) {
  push({.kind = Pending::Kind::Close, .name = std::string(name), .close_kind = kind});
}

void SessionState::client_describe() { push({.kind = Pending::Kind::Other}); }

void SessionState::client_sync() { push({.kind = Pending::Kind::Sync}); }

// ---------------------------------------------------------------- server side

void SessionState::completed(bool ok) {
  if (!lost_.empty()) return;
  if (pending_.empty() || pending_.front().kind == Pending::Kind::Sync)
    return lose("a reply arrived with no request waiting for it");
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (ok) return apply(p);
  // The server skips everything up to the next Sync, and the transaction
  // (explicit, or the implicit one of this Query / batch) is aborted.
  if (!txn_.open) open_implicit();
  txn_.failed = true;
  while (!pending_.empty() && pending_.front().kind != Pending::Kind::Sync) pending_.pop_front();
}

void SessionState::ready_for_query(char status) {
  if (!lost_.empty()) return;
  if (!pending_.empty()) {
    // Everything up to the first sync point must have been answered.
    if (pending_.front().kind != Pending::Kind::Sync) return lose("ReadyForQuery came before every reply");
    pending_.pop_front();
  }
  switch (status) {
    case 'I':
      if (txn_.open && txn_.explicit_block && !(txn_.start == scoped_)) {
        // The server left a block the model still thought open: it cannot
        // tell whether the changes made in it were kept.
        end_transaction(true);
        if (scoped_.unknown.empty()) scoped_.unknown = "a transaction ended in a way the model did not see";
      } else if (txn_.open) {
        end_transaction(!txn_.failed);
      }
      break;
    case 'T':
    case 'E':
      if (!txn_.open) txn_ = Txn{.open = true, .exact = false, .start = scoped_};
      txn_.explicit_block = true;
      if (status == 'E') txn_.failed = true;
      break;
    default: lose("ReadyForQuery with an unknown status");
  }
}

void SessionState::parameter_status(std::string_view name, std::string_view value) {
  std::string key(name);
  if (server_params_.size() >= limits_.max_parameters && !server_params_.count(key)) return;
  server_params_[key] = std::string(value);
}

// ---------------------------------------------------------------- effects

void SessionState::lose(std::string why) {
  lost_ = std::move(why);
  pending_.clear();
}

ClassifyContext SessionState::context() const {
  auto it = server_params_.find("standard_conforming_strings");
  return {.standard_strings = it == server_params_.end() || it->second != "off"};
}

void SessionState::open_implicit() { txn_ = Txn{.open = true, .start = scoped_}; }

void SessionState::end_transaction(bool commit) {
  if (!commit && txn_.exact) {
    scoped_ = txn_.start;
  } else {
    scoped_.local.clear();
    if (!commit && scoped_.unknown.empty()) scoped_.unknown = "a transaction the model did not see begin was rolled back";
  }
  portals_.clear();  // portals live until their transaction ends
  txn_ = Txn{};
}

void SessionState::apply(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::Statement: return apply_statement(p.text, 0);
    case Pending::Kind::Parse:
      if (p.name.empty()) {
        unnamed_ = p.text;
        return;
      }
      return add_prepared(p.name, Prepared{.parse = {p.name, p.text, p.types}, .body = p.text});
    case Pending::Kind::Bind: {
      std::optional<std::string> text;
      if (p.text.empty()) {
        text = unnamed_;
      } else if (auto it = prepared_.find(p.text); it != prepared_.end()) {
        text = it->second.body;
      }
      if (p.name.empty() || portals_.count(p.name) || portals_.size() < limits_.max_objects) portals_[p.name] = text;
      return;
    }
    case Pending::Kind::Execute: {
      auto it = portals_.find(p.name);
      if (it == portals_.end() || !it->second) {
        if (!txn_.open) open_implicit();
        if (scoped_.unknown.empty()) scoped_.unknown = "executed a portal whose statement the model did not track";
        return;
      }
      auto text = *it->second;  // copy: the statement may end the transaction and clear portals
      return apply_statement(text, 0);
    }
    case Pending::Kind::Close:
      if (p.close_kind == 'S') {
        if (p.name.empty()) unnamed_.clear();
        else drop_prepared(p.name);
      } else if (p.close_kind == 'P') {
        portals_.erase(p.name);
      }
      return;
    case Pending::Kind::Other:
    case Pending::Kind::Sync: return;
  }
}

void SessionState::apply_statement(std::string_view sql, int depth) {
  if (!txn_.open) open_implicit();
  for (const auto& e : statement_effects(sql, context())) apply_effect(e, depth);
}

void SessionState::set_param(const std::string& name, Param p, bool local) {
  p.seq = ++seq_;
  if (local) {
    scoped_.local[name] = std::move(p);
    return;
  }
  if (!scoped_.params.count(name) && scoped_.params.size() >= limits_.max_parameters) {
    if (scoped_.unknown.empty())
      scoped_.unknown = "more than " + std::to_string(limits_.max_parameters) + " parameters set";
    return;
  }
  scoped_.params[name] = std::move(p);
  scoped_.local.erase(name);
}

void SessionState::add_prepared(const std::string& name, Prepared p) {
  size_t bytes = p.body.size() + p.sql_prepare.size() + p.parse.sql.size();
  if (prepared_.size() >= limits_.max_prepared || prepared_bytes_ + bytes > limits_.max_prepared_bytes) {
    prepared_unknown_ = "more prepared statements than the model tracks (" + std::to_string(limits_.max_prepared) +
                        " or " + std::to_string(limits_.max_prepared_bytes) + " bytes)";
    return;
  }
  drop_prepared(name);
  p.search_path = effective("search_path");
  p.seq = ++seq_;
  prepared_bytes_ += bytes;
  prepared_[name] = std::move(p);
}

void SessionState::drop_prepared(const std::string& name) {
  auto it = prepared_.find(name);
  if (it == prepared_.end()) return;
  prepared_bytes_ -= it->second.body.size() + it->second.sql_prepare.size() + it->second.parse.sql.size();
  prepared_.erase(it);
}

void SessionState::apply_effect(const Effect& e, int depth) {
  auto note_unknown = [&](std::string why) {
    if (scoped_.unknown.empty()) scoped_.unknown = std::move(why);
  };
  auto bounded_insert = [&](auto& set, const std::string& v, const char* what) {
    if (set.size() >= limits_.max_objects) note_unknown(std::string("more ") + what + " than the model tracks");
    set.insert(v);  // still recorded: these only ever make the answer more careful
  };
  switch (e.kind) {
    case EffectKind::Begin:
      if (!txn_.open) open_implicit();
      txn_.explicit_block = true;  // an implicit block becomes a regular one, keeping what ran in it
      return;
    case EffectKind::Commit:
      if (txn_.open) end_transaction(!txn_.failed);
      return;
    case EffectKind::Rollback:
      if (txn_.open) end_transaction(false);
      return;
    case EffectKind::Savepoint:
      if (!txn_.open || !txn_.explicit_block || txn_.savepoints.size() >= limits_.max_objects) {
        txn_.exact = false;
        return note_unknown("a savepoint the model could not record");
      }
      txn_.savepoints.emplace_back(e.name, scoped_);
      return;
    case EffectKind::RollbackTo: {
      auto& sps = txn_.savepoints;
      auto it = std::find_if(sps.rbegin(), sps.rend(), [&](const auto& sp) { return sp.first == e.name; });
      txn_.failed = false;
      if (it == sps.rend()) return note_unknown("ROLLBACK TO a savepoint the model did not record");
      scoped_ = it->second;
      sps.resize(sps.size() - size_t(it - sps.rbegin()));  // the savepoint itself stays
      return;
    }
    case EffectKind::Release: {
      auto& sps = txn_.savepoints;
      auto it = std::find_if(sps.rbegin(), sps.rend(), [&](const auto& sp) { return sp.first == e.name; });
      if (it != sps.rend()) sps.resize(sps.size() - size_t(it - sps.rbegin()) - 1);
      return;
    }
    case EffectKind::Set: return set_param(e.name, Param{.value = e.value}, false);
    case EffectKind::SetLocal: return set_param(e.name, Param{.value = e.value}, true);
    case EffectKind::SetRaw: return set_param(e.name, Param{.value = e.value, .raw = true}, false);
    case EffectKind::SetRawLocal: return set_param(e.name, Param{.value = e.value, .raw = true}, true);
    case EffectKind::Unreplayable: return set_param(e.name, Param{.value = "?", .blocker = e.value}, false);
    case EffectKind::Reset:
      scoped_.params.erase(e.name);
      scoped_.local.erase(e.name);
      return;
    case EffectKind::ResetAll:
      // RESET ALL is not known to undo SET ROLE / SESSION AUTHORIZATION: those stay.
      std::erase_if(scoped_.params, [](const auto& kv) { return kv.second.blocker.empty(); });
      scoped_.local.clear();
      scoped_.unknown.clear();
      return;
    case EffectKind::Prepare: return add_prepared(e.name, Prepared{.sql_prepare = e.value, .body = e.body});
    case EffectKind::Deallocate: return drop_prepared(e.name);
    case EffectKind::DeallocateAll:
      prepared_.clear();
      prepared_bytes_ = 0;
      prepared_unknown_.clear();
      return;
    case EffectKind::Execute: {
      auto it = prepared_.find(e.name);
      if (it == prepared_.end()) return note_unknown("EXECUTE of a statement the model did not track");
      if (depth >= kMaxDepth) return note_unknown("EXECUTE nested too deep");
      auto body = it->second.body;
      return apply_statement(body, depth + 1);
    }
    case EffectKind::DiscardAll:
      // CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL;
      // UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD PLANS/TEMP/SEQUENCES.
      scoped_ = Scoped{};
      prepared_.clear();
      prepared_bytes_ = 0;
      prepared_unknown_.clear();
      portals_.clear();
      locks_.release_all();
      return;
    case EffectKind::DiscardTemp: scoped_.temps.clear(); return;
    case EffectKind::Listen: return bounded_insert(scoped_.listens, e.name, "LISTEN channels");
    case EffectKind::Unlisten: scoped_.listens.erase(e.name); return;
    case EffectKind::UnlistenAll: scoped_.listens.clear(); return;
    case EffectKind::CreateTemp: return bounded_insert(scoped_.temps, e.name, "temporary tables");
    case EffectKind::Drop:
      return proto::drop_temps(scoped_.temps, e.names);
    case EffectKind::AdvisoryLock: return locks_.take(e.name, limits_.max_objects);
    case EffectKind::AdvisoryUnlock: return locks_.release(e.name);
    case EffectKind::AdvisoryUnlockAll: return locks_.release_all();
    case EffectKind::UnknownLock: return locks_.take_unknown();
    case EffectKind::Unknown: return note_unknown(e.value);
  }
}

// ---------------------------------------------------------------- questions

std::optional<SessionState::Param> SessionState::effective(std::string_view name) const {
  std::string key(name);
  if (auto it = scoped_.local.find(key); it != scoped_.local.end()) return it->second;
  if (auto it = scoped_.params.find(key); it != scoped_.params.end()) return it->second;
  if (auto it = startup_.find(key); it != startup_.end()) return Param{.value = it->second, .raw = true};
  return std::nullopt;
}

std::optional<std::string> SessionState::parameter(std::string_view name) const {
  auto p = effective(proto::lower(name));
  if (!p) return std::nullopt;
  return p->value;
}

std::vector<std::string> SessionState::prepared_names() const {
  std::vector<std::string> out;
  for (const auto& kv : prepared_) out.push_back(kv.first);
  return out;
}

std::string SessionState::uncertain() const {
  for (const auto* why : {&lost_, &startup_unknown_, &scoped_.unknown, &prepared_unknown_})
    if (!why->empty()) return *why;
  return {};
}

Verdict SessionState::state_blocker() const {
  if (auto why = uncertain(); !why.empty()) return {Hazard::Uncertain, "session state is uncertain: " + why};
  if (txn_.open && txn_.explicit_block)
    return {Hazard::Transaction, txn_.failed ? "a failed transaction is open" : "a transaction is open"};
  if (!scoped_.temps.empty()) return {Hazard::TempTables, "the session created temporary tables"};
  if (locks_.any()) return {Hazard::Locks, "the session holds advisory locks"};
  if (!scoped_.listens.empty()) return {Hazard::Listen, "the session is listening on a channel"};
  for (const auto& [name, p] : scoped_.params)
    if (!p.blocker.empty()) return {Hazard::NotReplayable, p.blocker};
  return {};
}

Replay SessionState::replay() const {
  Replay out;
  out.blocked = pending_.empty() ? state_blocker() : proto::replies_pending();
  if (!out.ok()) return out;
  auto sql = [&](std::string s) { out.steps.push_back({.kind = ReplayStep::Kind::Sql, .sql = std::move(s)}); };
  auto set_sql = [](const std::string& name, const Param& p) {
    return p.raw ? raw_set_sql(name, p.value) : "SET " + name_sql(name) + " TO " + p.value;
  };
  // Startup values first: they are what RESET returns to. Then the client's
  // SETs in the order they were last made (SET NAMES and client_encoding, say,
  // overwrite each other: the last one must win).
  for (const auto& [name, value] : startup_)
    if (!scoped_.params.count(name)) sql(raw_set_sql(name, value));
  std::vector<const std::pair<const std::string, Param>*> params;
  for (const auto& kv : scoped_.params) params.push_back(&kv);
  std::sort(params.begin(), params.end(), [](auto* a, auto* b) { return a->second.seq < b->second.seq; });
  for (auto* kv : params) sql(set_sql(kv->first, kv->second));
  // Names in a prepared statement bind with the search_path of its PREPARE.
  std::vector<const Prepared*> prepared;
  for (const auto& kv : prepared_) prepared.push_back(&kv.second);
  std::sort(prepared.begin(), prepared.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  auto same = [](const std::optional<Param>& a, const std::optional<Param>& b) {
    return a.has_value() == b.has_value() && (!a || (a->value == b->value && a->raw == b->raw));
  };
  auto set_path = [&](const std::optional<Param>& p) {
    sql(p ? set_sql("search_path", *p) : "RESET search_path");
  };
  const auto final_path = effective("search_path");
  auto current = final_path;
  for (const auto* p : prepared) {
    if (!same(p->search_path, current)) set_path(current = p->search_path);
    if (p->sql_prepare.empty())
      out.steps.push_back({.kind = ReplayStep::Kind::Parse, .parse = p->parse});
    else
      sql(p->sql_prepare);
  }
  if (!same(current, final_path)) set_path(final_path);
  return out;
}

Verdict SessionState::safe_elsewhere(std::string_view sql) const {
  if (!pending_.empty()) return proto::replies_pending();
  if (auto v = state_blocker(); !v.safe()) return v;
  for (auto statement : proto::split_statements(sql, proto::Dialect::Postgres)) {
    auto effects = statement_effects(statement, context());
    for (const auto& e : effects) {
      if (e.kind == EffectKind::Execute) {
        auto it = prepared_.find(e.name);
        if (it != prepared_.end() && statement_effects(it->second.body, context()).empty()) continue;
      }
      return {Hazard::SessionStatement, "the statement changes session state"};
    }
    if (auto why = connection_bound(statement); !why.empty()) return {Hazard::SessionStatement, std::string(why)};
  }
  return {};
}

}  // namespace sy::pg
