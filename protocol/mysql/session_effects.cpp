#include "protocol/mysql/session_effects.h"

#include <cctype>
#include <optional>

#include "protocol/common/sql_scan.h"
#include "rewrite/sql_text.h"

namespace sy::mysql {

using proto::Lexed;
using proto::TokenKind;

namespace {

Effect make(EffectKind k, std::string name = {}, std::string value = {}) {
  return Effect{.kind = k, .name = std::move(name), .value = std::move(value)};
}
Effect unknown(std::string why) { return make(EffectKind::Unknown, {}, std::move(why)); }

// A name as written: `quoted` unquoted, words kept (table-name case rules
// depend on the server, so names compare exactly; a mismatch keeps a temp
// table, which is the careful side).
std::string name_at(const Lexed& l, size_t i) {
  if (l.is(i, TokenKind::Word)) return std::string(l.text(i));
  if (l.is(i, TokenKind::QuotedIdent)) return proto::unquote_ident(l.text(i));
  return {};
}

std::string qualified(const Lexed& l, size_t i, size_t& next) {
  std::string name = name_at(l, i);
  next = i + 1;
  while (!name.empty() && l.is(next, TokenKind::Dot) && !name_at(l, next + 1).empty()) {
    name += "." + name_at(l, next + 1);
    next += 2;
  }
  return name;
}

bool simple_word(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// A string token's value, or nullopt when it cannot be read exactly.
std::optional<std::string> string_value(std::string_view token, const ClassifyContext& ctx) {
  if (token.empty() || (token.front() != '\'' && token.front() != '"')) return std::nullopt;  // introducer, X'', N''
  if (token.size() < 2 || token.back() != token.front()) return std::nullopt;
  if (ctx.no_backslash_escapes && token.find('\\') != std::string_view::npos) return std::nullopt;
  return rewrite::unquote_mysql_string(token);
}

// The canonical SQL of a SET value: one literal (quoted so it means the same
// under any sql_mode), a number or a bare word; nullopt for expressions.
std::optional<std::string> value_sql(std::string_view text, const ClassifyContext& ctx) {
  Lexed v(text, proto::Dialect::Mysql);
  size_t i = 0;
  std::string sign;
  if (v.op(0, "-") || v.op(0, "+")) {
    sign = std::string(v.text(0));
    i = 1;
    if (!v.is(i, TokenKind::Number)) return std::nullopt;
  }
  if (v.size() != i + 1) return std::nullopt;
  switch (v.kind(i)) {
    case TokenKind::Number: return sign + std::string(v.text(i));
    case TokenKind::Word: return std::string(v.text(i));
    case TokenKind::String: {
      auto s = string_value(v.text(i), ctx);
      if (!s) return std::nullopt;
      return rewrite::quote_mysql_literal(*s);
    }
    default: return std::nullopt;
  }
}

// A charset or collation name after NAMES / CHARACTER SET / COLLATE.
std::optional<std::string> charset_at(const Lexed& l, size_t i, const ClassifyContext& ctx) {
  std::string v;
  if (l.is(i, TokenKind::String)) {
    auto s = string_value(l.text(i), ctx);
    if (!s) return std::nullopt;
    v = *s;
  } else {
    v = name_at(l, i);
  }
  if (!simple_word(v)) return std::nullopt;
  return v;
}

// One assignment of a SET statement, tokens [b, e).
void assignment(const Lexed& l, size_t b, size_t e, const ClassifyContext& ctx, std::vector<Effect>& out,
                bool& stop) {
  size_t i = b;
  if (l.kw(i, "NAMES")) {
    if (l.kw(i + 1, "DEFAULT")) return out.push_back(make(EffectKind::SetStatement, "names", "SET NAMES DEFAULT"));
    auto cs = charset_at(l, i + 1, ctx);
    if (!cs) return out.push_back(unknown("SET NAMES with a name that could not be read"));
    std::string sql = "SET NAMES " + *cs;
    if (l.kw(i + 2, "COLLATE")) {
      auto coll = charset_at(l, i + 3, ctx);
      if (!coll) return out.push_back(unknown("SET NAMES with a collation that could not be read"));
      sql += " COLLATE " + *coll;
    }
    return out.push_back(make(EffectKind::SetStatement, "names", sql));
  }
  if ((l.kw(i, "CHARACTER") && l.kw(i + 1, "SET")) || l.kw(i, "CHARSET")) {
    i += l.kw(i, "CHARSET") ? 1 : 2;
    if (l.kw(i, "DEFAULT")) return out.push_back(make(EffectKind::SetStatement, "character set", "SET CHARACTER SET DEFAULT"));
    auto cs = charset_at(l, i, ctx);
    if (!cs) return out.push_back(unknown("SET CHARACTER SET with a name that could not be read"));
    return out.push_back(make(EffectKind::SetStatement, "character set", "SET CHARACTER SET " + *cs));
  }
  if (l.kw(i, "PASSWORD") || (l.kw(i, "RESOURCE") && l.kw(i + 1, "GROUP"))) {
    stop = true;
    return;
  }
  if (l.kw(i, "ROLE") || (l.kw(i, "DEFAULT") && l.kw(i + 1, "ROLE"))) {
    stop = true;
    return out.push_back(make(EffectKind::Unreplayable, {}, "SET ROLE changed the session's privileges"));
  }
  bool session = true;
  if (l.kw(i, "GLOBAL") || l.kw(i, "PERSIST") || l.kw(i, "PERSIST_ONLY")) {
    session = false;
    ++i;
  } else if (l.kw(i, "SESSION") || l.kw(i, "LOCAL")) {
    ++i;
  }
  if (l.kw(i, "TRANSACTION")) {
    // The rest of the statement is its characteristics (they contain commas).
    stop = true;
    if (!session || i == b) return;  // GLOBAL, or the next transaction only
    std::string sql = "SET SESSION " + std::string(l.from(i));
    return out.push_back(make(EffectKind::SetStatement, "transaction", sql));
  }
  bool user = false;
  if (l.op(i, "@@")) {
    ++i;
    bool global = l.kw(i, "GLOBAL") || l.kw(i, "PERSIST") || l.kw(i, "PERSIST_ONLY");
    bool scope = global || l.kw(i, "SESSION") || l.kw(i, "LOCAL");  // else a dotted component variable
    if (scope && l.is(i + 1, TokenKind::Dot)) {
      session = !global;
      i += 2;
    }
  } else if (l.op(i, "@")) {
    user = true;
    ++i;
  }
  std::string name;
  size_t next = i + 1;
  if (user && l.is(i, TokenKind::String)) {
    auto s = string_value(l.text(i), ctx);
    if (s) name = *s;
  } else {
    name = qualified(l, i, next);
  }
  if (name.empty()) return out.push_back(unknown("SET of a name that could not be read"));
  name = proto::lower(name);
  // The assignment operator: "=", or ":=" (lexed as ":" then "="); "=-1" is one token.
  size_t eq = next;
  if (l.op(eq, ":")) ++eq;
  if (eq >= e || !l.is(eq, TokenKind::Operator) || l.text(eq).front() != '=')
    return out.push_back(unknown("SET " + name + " without ="));
  if (!session) return;
  size_t vb = l.tokens()[eq].begin + 1;
  size_t ve = l.tokens()[e - 1].end;
  auto text = vb < ve ? l.sql().substr(vb, ve - vb) : std::string_view();
  Lexed v(text, proto::Dialect::Mysql);
  if (!user && v.size() == 1 && v.kw(0, "DEFAULT")) return out.push_back(make(EffectKind::ResetVar, name));
  auto sql = value_sql(text, ctx);
  if (!sql) return out.push_back(unknown((user ? "@" : "") + name + " set to an expression"));
  out.push_back(make(user ? EffectKind::SetUserVar : EffectKind::SetVar, name, *sql));
}

void classify_set(const Lexed& l, const ClassifyContext& ctx, std::vector<Effect>& out) {
  size_t b = 1;
  int depth = 0;
  bool stop = false;
  for (size_t i = 1; i <= l.size() && !stop; ++i) {
    if (i < l.size()) {
      if (l.is(i, TokenKind::LParen)) ++depth;
      if (l.is(i, TokenKind::RParen) && depth > 0) --depth;
      if (!l.is(i, TokenKind::Comma) || depth > 0) continue;
    }
    if (i > b) assignment(l, b, i, ctx, out, stop);
    b = i + 1;
  }
}

// SELECT f(literal, …) [[AS] alias], …: a call that runs exactly once.
struct Call {
  std::string fn;
  std::vector<std::string_view> args;
};

std::optional<std::vector<Call>> simple_select_calls(const Lexed& l) {
  if (!l.kw(0, "SELECT") && !l.kw(0, "DO")) return std::nullopt;
  std::vector<Call> calls;
  size_t i = 1;
  while (i < l.size()) {
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) return std::nullopt;
    Call c{.fn = proto::lower(l.text(i))};
    for (i += 2; !l.is(i, TokenKind::RParen); ++i) {
      if (i >= l.size()) return std::nullopt;
      auto k = l.kind(i);
      if (k == TokenKind::String || k == TokenKind::Number || l.op(i, "-")) c.args.push_back(l.text(i));
      else if (k != TokenKind::Comma) return std::nullopt;
    }
    ++i;
    if (l.kw(i, "AS")) ++i;
    if (l.is(i, TokenKind::Word) || l.is(i, TokenKind::QuotedIdent) || l.is(i, TokenKind::String)) ++i;
    calls.push_back(std::move(c));
    if (i >= l.size()) break;
    if (!l.is(i, TokenKind::Comma)) return std::nullopt;
    ++i;
  }
  return calls;
}

void scan_calls(const Lexed& l, const ClassifyContext& ctx, std::vector<Effect>& out) {
  bool any = false;
  for (size_t i = 0; i + 1 < l.size() && !any; ++i) {
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) continue;
    auto fn = proto::lower(l.text(i));
    any = fn == "get_lock" || fn == "release_lock" || fn == "release_all_locks";
  }
  if (!any) return;
  if (auto calls = simple_select_calls(l)) {
    for (const auto& c : *calls) {
      std::optional<std::string> name;
      if (!c.args.empty()) name = string_value(c.args[0], ctx);
      if (c.fn == "release_all_locks") out.push_back(make(EffectKind::ReleaseAllLocks));
      if (c.fn == "get_lock") out.push_back(name ? make(EffectKind::GetLock, *name) : make(EffectKind::UnknownLock));
      if (c.fn == "release_lock" && name) out.push_back(make(EffectKind::ReleaseLock, *name));
    }
    return;
  }
  for (size_t i = 0; i + 1 < l.size(); ++i)  // elsewhere a lock may be taken any number of times
    if (l.kw(i, "GET_LOCK") && l.is(i + 1, TokenKind::LParen)) out.push_back(make(EffectKind::UnknownLock));
}

// SELECT @a := …, SELECT … INTO @a: user variables set by a query's result.
void scan_user_assignments(const Lexed& l, std::vector<Effect>& out) {
  for (size_t i = 0; i + 1 < l.size(); ++i) {
    bool walrus = l.op(i, ":") && l.is(i + 1, TokenKind::Operator) && l.text(i + 1).front() == '=';
    bool into = l.kw(i, "INTO") && l.is(i + 1, TokenKind::Operator) && l.text(i + 1).starts_with("@");
    if (walrus || into) return out.push_back(unknown("a query assigned a user variable"));
  }
}

void classify_drop(const Lexed& l, std::vector<Effect>& out) {
  size_t i = 1;
  if (l.kw(i, "TEMPORARY")) ++i;
  if (!l.kw(i, "TABLE") && !l.kw(i, "TABLES")) return;
  ++i;
  if (l.kw(i, "IF") && l.kw(i + 1, "EXISTS")) i += 2;
  Effect e = make(EffectKind::Drop);
  e.names = proto::name_list(l, i, qualified);
  out.push_back(std::move(e));
}

}  // namespace

std::vector<Effect> statement_effects(std::string_view statement, const ClassifyContext& ctx) {
  std::vector<Effect> out;
  Lexed l(statement, proto::Dialect::Mysql);
  if (l.size() == 0) return out;
  if (l.is(0, TokenKind::Opaque)) {
    out.push_back(unknown("a statement hidden in an executable comment"));
    return out;
  }
  bool chain = l.size() >= 2 && l.kw(l.size() - 1, "CHAIN") && l.kw(l.size() - 2, "AND");
  if (l.kw(0, "BEGIN") || (l.kw(0, "START") && l.kw(1, "TRANSACTION")) ||
      (l.kw(0, "XA") && (l.kw(1, "START") || l.kw(1, "BEGIN")))) {
    out.push_back(make(EffectKind::Begin));
  } else if (l.kw(0, "COMMIT")) {
    out.push_back(make(EffectKind::Commit));
    if (chain) out.push_back(make(EffectKind::Begin));
  } else if (l.kw(0, "ROLLBACK")) {
    size_t i = l.kw(1, "WORK") ? 2 : 1;
    if (l.kw(i, "TO")) return out;  // ROLLBACK TO SAVEPOINT: SET is not transactional in MySQL
    out.push_back(make(EffectKind::Rollback));
    if (chain) out.push_back(make(EffectKind::Begin));
  } else if (l.kw(0, "SET")) {
    classify_set(l, ctx, out);
    scan_calls(l, ctx, out);  // SET @l = GET_LOCK(...): := here is SET's own, not a query's
    return out;
  } else if (l.kw(0, "USE")) {
    auto db = name_at(l, 1);
    out.push_back(db.empty() ? unknown("USE of a name that could not be read") : make(EffectKind::Use, db));
  } else if (l.kw(0, "PREPARE")) {
    auto name = proto::lower(name_at(l, 1));
    std::optional<std::string> text;
    if (l.kw(2, "FROM") && l.is(3, TokenKind::String) && l.size() == 4) text = string_value(l.text(3), ctx);
    if (name.empty() || !text) {
      out.push_back(unknown("PREPARE from text the model could not read"));
    } else {
      Effect e = make(EffectKind::Prepare, name,
                      "PREPARE " + rewrite::quote_mysql_ident(name) + " FROM " + rewrite::quote_mysql_literal(*text));
      e.body = *text;
      out.push_back(std::move(e));
    }
    return out;
  } else if ((l.kw(0, "DEALLOCATE") || l.kw(0, "DROP")) && l.kw(1, "PREPARE")) {
    out.push_back(make(EffectKind::Deallocate, proto::lower(name_at(l, 2))));
    return out;
  } else if (l.kw(0, "EXECUTE")) {
    out.push_back(make(EffectKind::Execute, proto::lower(name_at(l, 1))));
    return out;
  } else if (l.kw(0, "CREATE") && l.kw(1, "TEMPORARY") && l.kw(2, "TABLE")) {
    size_t i = 3;
    if (l.kw(i, "IF") && l.kw(i + 1, "NOT") && l.kw(i + 2, "EXISTS")) i += 3;
    size_t next = i;
    out.push_back(make(EffectKind::CreateTemp, qualified(l, i, next)));
  } else if (l.kw(0, "DROP")) {
    classify_drop(l, out);
  } else if (l.kw(0, "LOCK") && (l.kw(1, "TABLES") || l.kw(1, "TABLE") || l.kw(1, "INSTANCE"))) {
    out.push_back(make(EffectKind::LockTables));
  } else if (l.kw(0, "UNLOCK") && (l.kw(1, "TABLES") || l.kw(1, "TABLE"))) {
    out.push_back(make(EffectKind::UnlockTables));
  } else if (l.kw(0, "FLUSH")) {
    for (size_t i = 1; i + 1 < l.size(); ++i)
      if (l.kw(i, "READ") && l.kw(i + 1, "LOCK")) out.push_back(make(EffectKind::LockTables));
  }
  scan_user_assignments(l, out);
  scan_calls(l, ctx, out);
  return out;
}

std::string_view connection_bound(std::string_view statement) {
  Lexed l(statement, proto::Dialect::Mysql);
  if (l.kw(0, "HANDLER")) return "it uses a HANDLER of this connection";
  if (l.kw(0, "SHOW") && (l.kw(1, "WARNINGS") || l.kw(1, "ERRORS") || l.kw(1, "COUNT") || l.kw(1, "SESSION")))
    return "it shows this connection's own diagnostics or status";
  for (size_t i = 0; i + 1 < l.size(); ++i) {
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) continue;
    auto fn = proto::lower(l.text(i));
    if (fn == "last_insert_id" || fn == "found_rows" || fn == "row_count" || fn == "connection_id" ||
        fn == "is_used_lock" || fn == "ps_current_thread_id")
      return "it calls a function whose answer depends on the connection";
  }
  return {};
}

}  // namespace sy::mysql
