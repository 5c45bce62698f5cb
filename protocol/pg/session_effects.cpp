#include "protocol/pg/session_effects.h"

#include <array>
#include <optional>

#include "protocol/common/sql_scan.h"
#include "rewrite/sql_text.h"

namespace sy::pg {

using proto::Lexed;
using proto::TokenKind;

namespace {

// A name as PostgreSQL folds it: unquoted words lower-cased, "quoted" kept.
std::string ident(const Lexed& l, size_t i) {
  if (l.is(i, TokenKind::Word)) return proto::lower(l.text(i));
  if (l.is(i, TokenKind::QuotedIdent) && l.text(i).front() == '"') return proto::unquote_ident(l.text(i));
  return {};
}

// a.b.c from token i; `next` is left on the first token after it.
std::string qualified(const Lexed& l, size_t i, size_t& next) {
  std::string name = ident(l, i);
  next = i + 1;
  while (!name.empty() && l.is(next, TokenKind::Dot)) {
    auto part = ident(l, next + 1);
    if (part.empty()) return {};
    name += "." + part;
    next += 2;
  }
  return name;
}

Effect make(EffectKind k, std::string name = {}, std::string value = {}) {
  return Effect{.kind = k, .name = std::move(name), .value = std::move(value)};
}

Effect unknown(std::string why) { return make(EffectKind::Unknown, {}, std::move(why)); }

// "AND CHAIN" (not "AND NO CHAIN") at the end of COMMIT / ROLLBACK.
bool and_chain(const Lexed& l) {
  size_t n = l.size();
  return n >= 2 && l.kw(n - 1, "CHAIN") && l.kw(n - 2, "AND");
}

// The SQL for a SET value list, each item re-quoted canonically: strings are
// decoded and re-emitted so they mean the same whatever
// standard_conforming_strings the replaying connection has. nullopt when an
// item is not a plain literal or name (an expression, U&'' …).
std::optional<std::string> value_sql(std::string_view text, const ClassifyContext& ctx) {
  Lexed v(text, proto::Dialect::Postgres);
  if (v.size() == 0) return std::nullopt;
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    if (!out.empty()) out += ", ";
    std::string sign;
    if (v.op(i, "-") || v.op(i, "+")) {
      sign = std::string(v.text(i));
      ++i;
      if (!v.is(i, TokenKind::Number)) return std::nullopt;
    }
    if (i >= v.size()) return std::nullopt;
    switch (v.kind(i)) {
      case TokenKind::Number:
      case TokenKind::Word: out += sign + std::string(v.text(i)); break;
      case TokenKind::QuotedIdent:
        if (v.text(i).front() != '"') return std::nullopt;
        out += v.text(i);
        break;
      case TokenKind::String: {
        std::string s;
        if (!decode_string(v.text(i), ctx.standard_strings, s)) return std::nullopt;
        out += rewrite::quote_literal(s);
        break;
      }
      default: return std::nullopt;
    }
    ++i;
    if (i < v.size()) {
      if (!v.is(i, TokenKind::Comma)) return std::nullopt;
      ++i;
      if (i >= v.size()) return std::nullopt;
    }
  }
  return out;
}

// SET name TO/= value | DEFAULT, for the name already read; `at` is the TO or
// '=' token.
void set_value(const Lexed& l, size_t at, const std::string& name, bool local, const ClassifyContext& ctx,
               std::vector<Effect>& out) {
  std::string_view text;
  if (l.kw(at, "TO")) {
    text = l.from(at + 1);
  } else if (l.is(at, TokenKind::Operator) && l.text(at).front() == '=') {
    text = l.from(at).substr(1);  // "=-1" lexes as one operator: the value starts after '='
  } else if (l.kw(at, "FROM") && l.kw(at + 1, "CURRENT")) {
    out.push_back(unknown("SET " + name + " FROM CURRENT takes a value the text does not show"));
    return;
  } else {
    out.push_back(unknown("SET " + name + " without TO or ="));
    return;
  }
  Lexed v(text, proto::Dialect::Postgres);
  if (v.size() == 1 && v.kw(0, "DEFAULT")) {
    // SET LOCAL x TO DEFAULT lasts to the end of the transaction like any SET
    // LOCAL; modelled as a local reset would need a "default" marker, and a
    // transaction is open anyway, so it is only recorded as unknown if local.
    out.push_back(local ? make(EffectKind::SetLocal, name, "DEFAULT") : make(EffectKind::Reset, name));
    return;
  }
  auto sql = value_sql(text, ctx);
  if (!sql) {
    out.push_back(unknown("SET " + name + " to a value that is not a plain literal"));
    return;
  }
  out.push_back(make(local ? EffectKind::SetLocal : EffectKind::Set, name, *sql));
}

void classify_set(const Lexed& l, const ClassifyContext& ctx, std::vector<Effect>& out) {
  size_t i = 1;
  bool local = false;
  if (l.kw(i, "SESSION") && !l.kw(i + 1, "AUTHORIZATION") && !l.kw(i + 1, "CHARACTERISTICS")) {
    ++i;
  } else if (l.kw(i, "LOCAL")) {
    local = true;
    ++i;
  }
  if (l.kw(i, "TRANSACTION") || l.kw(i, "CONSTRAINTS")) return;  // this transaction only
  if (l.kw(i, "SESSION") && l.kw(i + 1, "CHARACTERISTICS")) {
    out.push_back(unknown("SET SESSION CHARACTERISTICS is not modelled"));
    return;
  }
  auto single = [&](const std::string& name, size_t at) {
    if (l.kw(at, "DEFAULT") || l.kw(at, "LOCAL")) {
      out.push_back(local ? make(EffectKind::SetLocal, name, "DEFAULT") : make(EffectKind::Reset, name));
      return;
    }
    auto sql = value_sql(l.from(at), ctx);
    if (!sql) return out.push_back(unknown("SET " + name + " to a value that is not a plain literal"));
    out.push_back(make(local ? EffectKind::SetLocal : EffectKind::Set, name, *sql));
  };
  if (l.kw(i, "SESSION") && l.kw(i + 1, "AUTHORIZATION")) {
    if (l.kw(i + 2, "DEFAULT")) return out.push_back(make(EffectKind::Reset, "session_authorization"));
    return out.push_back(make(EffectKind::Unreplayable, "session_authorization",
                              "SET SESSION AUTHORIZATION changed the session's user"));
  }
  if (l.kw(i, "ROLE")) {
    if (l.kw(i + 1, "NONE")) return out.push_back(make(local ? EffectKind::SetLocal : EffectKind::Reset, "role", "NONE"));
    return out.push_back(make(EffectKind::Unreplayable, "role", "SET ROLE changed the session's privileges"));
  }
  if (l.kw(i, "TIME") && l.kw(i + 1, "ZONE")) {
    if (l.kw(i + 2, "INTERVAL")) return out.push_back(unknown("SET TIME ZONE INTERVAL is not modelled"));
    return single("timezone", i + 2);
  }
  if (l.kw(i, "NAMES")) return single("client_encoding", i + 1);
  if (l.kw(i, "SCHEMA")) return single("search_path", i + 1);
  if (l.kw(i, "XML") && l.kw(i + 1, "OPTION")) return single("xmloption", i + 2);
  size_t next = i;
  std::string name = qualified(l, i, next);
  if (name.empty()) return out.push_back(unknown("SET of a name that could not be read"));
  if (name == "role" || name == "session_authorization")
    return out.push_back(make(EffectKind::Unreplayable, name, "SET " + name + " changed the session's user"));
  set_value(l, next, name, local, ctx, out);
}

void classify_reset(const Lexed& l, std::vector<Effect>& out) {
  if (l.kw(1, "ALL")) return out.push_back(make(EffectKind::ResetAll));
  if (l.kw(1, "TIME") && l.kw(2, "ZONE")) return out.push_back(make(EffectKind::Reset, "timezone"));
  if (l.kw(1, "SESSION") && l.kw(2, "AUTHORIZATION"))
    return out.push_back(make(EffectKind::Reset, "session_authorization"));
  size_t next = 1;
  auto name = qualified(l, 1, next);
  if (name.empty()) return out.push_back(unknown("RESET of a name that could not be read"));
  out.push_back(make(EffectKind::Reset, name));
}

void classify_create(const Lexed& l, std::vector<Effect>& out) {
  size_t i = 1;
  if (l.kw(i, "OR") && l.kw(i + 1, "REPLACE")) i += 2;
  if (l.kw(i, "GLOBAL") || l.kw(i, "LOCAL")) ++i;
  if (!l.kw(i, "TEMP") && !l.kw(i, "TEMPORARY")) return;
  ++i;
  if (l.kw(i, "RECURSIVE")) ++i;
  if (!l.kw(i, "TABLE") && !l.kw(i, "VIEW") && !l.kw(i, "SEQUENCE")) return out.push_back(make(EffectKind::CreateTemp));
  ++i;
  if (l.kw(i, "IF") && l.kw(i + 1, "NOT") && l.kw(i + 2, "EXISTS")) i += 3;
  // ON COMMIT DROP: gone when its transaction ends, and a transaction blocks
  // everything while it is open.
  for (size_t k = i; k + 2 < l.size(); ++k)
    if (l.kw(k, "ON") && l.kw(k + 1, "COMMIT") && l.kw(k + 2, "DROP")) return;
  size_t next = i;
  out.push_back(make(EffectKind::CreateTemp, qualified(l, i, next)));
}

void classify_drop(const Lexed& l, std::vector<Effect>& out) {
  size_t i = 1;
  if (!l.kw(i, "TABLE") && !l.kw(i, "VIEW") && !l.kw(i, "SEQUENCE")) return;
  ++i;
  if (l.kw(i, "IF") && l.kw(i + 1, "EXISTS")) i += 2;
  Effect e = make(EffectKind::Drop);
  e.names = proto::name_list(l, i, qualified);
  out.push_back(std::move(e));
}

// SELECT [pg_catalog.]f(literal, ...) [[AS] alias], ...: the only shape in
// which a call runs exactly once, so its lock count or setting is known.
struct Call {
  std::string fn;
  std::vector<std::string_view> args;  //!< literal token texts ("-" sign joined is not kept: keys compare by text)
  std::string key;                     //!< the argument tokens joined
};

std::optional<std::vector<Call>> simple_select_calls(const Lexed& l) {
  if (!l.kw(0, "SELECT")) return std::nullopt;
  std::vector<Call> calls;
  size_t i = 1;
  while (i < l.size()) {
    if (l.kw(i, "PG_CATALOG") && l.is(i + 1, TokenKind::Dot)) i += 2;
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) return std::nullopt;
    Call c{.fn = proto::lower(l.text(i))};
    i += 2;
    while (!l.is(i, TokenKind::RParen)) {
      if (i >= l.size()) return std::nullopt;
      auto k = l.kind(i);
      bool literal = k == TokenKind::Number || k == TokenKind::String || k == TokenKind::Word || l.op(i, "-");
      if (k == TokenKind::Comma) {
        c.key += ",";
      } else if (literal) {
        if (k == TokenKind::Word && !l.kw(i, "TRUE") && !l.kw(i, "FALSE")) return std::nullopt;
        c.args.push_back(l.text(i));
        c.key += l.text(i);
      } else {
        return std::nullopt;
      }
      ++i;
    }
    ++i;
    if (l.kw(i, "AS")) ++i;
    if (l.is(i, TokenKind::Word) || l.is(i, TokenKind::QuotedIdent)) ++i;
    calls.push_back(std::move(c));
    if (i >= l.size()) break;
    if (!l.is(i, TokenKind::Comma)) return std::nullopt;
    ++i;
  }
  return calls;
}

constexpr std::array<std::string_view, 4> kLockFns = {"pg_advisory_lock", "pg_advisory_lock_shared",
                                                      "pg_try_advisory_lock", "pg_try_advisory_lock_shared"};
constexpr std::array<std::string_view, 2> kUnlockFns = {"pg_advisory_unlock", "pg_advisory_unlock_shared"};

template <size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& set) {
  for (auto x : set)
    if (s == x) return true;
  return false;
}

std::optional<bool> literal_bool(std::string_view t) {
  auto v = proto::lower(t);
  if (v == "true" || v == "'t'" || v == "'true'" || v == "'on'" || v == "'1'" || v == "'yes'") return true;
  if (v == "false" || v == "'f'" || v == "'false'" || v == "'off'" || v == "'0'" || v == "'no'") return false;
  return std::nullopt;
}

void exact_call(const Call& c, const ClassifyContext& ctx, std::vector<Effect>& out) {
  bool shared = c.fn.ends_with("_shared");
  std::string key = std::string(shared ? "s:" : "x:") + c.key;
  if (one_of(c.fn, kLockFns)) return out.push_back(make(EffectKind::AdvisoryLock, key));
  if (one_of(c.fn, kUnlockFns)) return out.push_back(make(EffectKind::AdvisoryUnlock, key));
  if (c.fn == "pg_advisory_unlock_all") return out.push_back(make(EffectKind::AdvisoryUnlockAll));
  if (c.fn != "set_config") return;
  std::string name, value;
  auto local = c.args.size() == 3 ? literal_bool(c.args[2]) : std::nullopt;
  if (!local || !decode_string(c.args[0], ctx.standard_strings, name) ||
      !decode_string(c.args[1], ctx.standard_strings, value))
    return out.push_back(unknown("set_config() with arguments that are not plain literals"));
  name = proto::lower(name);
  if (name == "role" || name == "session_authorization")
    return out.push_back(make(EffectKind::Unreplayable, name, "set_config('" + name + "') changed the session's user"));
  out.push_back(make(*local ? EffectKind::SetRawLocal : EffectKind::SetRaw, name, value));
}

// Calls of session-changing functions anywhere in a statement.
void scan_calls(const Lexed& l, const ClassifyContext& ctx, std::vector<Effect>& out) {
  bool any = false;
  for (size_t i = 0; i + 1 < l.size() && !any; ++i) {
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) continue;
    auto fn = proto::lower(l.text(i));
    any = fn == "set_config" || fn == "pg_advisory_unlock_all" || one_of(fn, kLockFns) || one_of(fn, kUnlockFns);
  }
  if (!any) return;
  if (auto calls = simple_select_calls(l)) {
    for (const auto& c : *calls) exact_call(c, ctx, out);
    return;
  }
  // Anywhere else a call may run any number of times, or not at all: locks
  // may be held (unlocks are not believed), and a setting is unknown.
  for (size_t i = 0; i + 1 < l.size(); ++i) {
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) continue;
    auto fn = proto::lower(l.text(i));
    if (fn == "set_config") out.push_back(unknown("set_config() inside a statement whose effect is not certain"));
    if (one_of(fn, kLockFns)) out.push_back(make(EffectKind::UnknownLock));
  }
}

bool decode_escapes(std::string_view body, std::string& out) {
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\'') {  // doubled quote
      out.push_back('\'');
      ++i;
      continue;
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= body.size()) return false;
    char n = body[i];
    auto oct = [](char d) { return d >= '0' && d <= '7'; };
    auto hexv = [](char d) -> int {
      if (d >= '0' && d <= '9') return d - '0';
      if (d >= 'a' && d <= 'f') return d - 'a' + 10;
      if (d >= 'A' && d <= 'F') return d - 'A' + 10;
      return -1;
    };
    switch (n) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u':
      case 'U': return false;  // Unicode escapes: not decoded, the value stays unknown
      case 'x': {
        int v = 0, k = 0;
        while (k < 2 && i + 1 < body.size() && hexv(body[i + 1]) >= 0) v = v * 16 + hexv(body[++i]), ++k;
        if (k == 0 || v == 0) return false;
        out.push_back(static_cast<char>(v));
        break;
      }
      default:
        if (oct(n)) {
          int v = n - '0', k = 1;
          while (k < 3 && i + 1 < body.size() && oct(body[i + 1])) v = v * 8 + (body[++i] - '0'), ++k;
          if (v == 0 || v > 255) return false;
          out.push_back(static_cast<char>(v));
        } else {
          out.push_back(n);
        }
    }
  }
  return true;
}

}  // namespace

bool decode_string(std::string_view t, bool standard_strings, std::string& out) {
  out.clear();
  if (t.size() >= 2 && t.front() == '$') {
    auto close = t.find('$', 1);
    if (close == std::string_view::npos) return false;
    auto tag = t.substr(0, close + 1);
    if (t.size() < 2 * tag.size() || !t.ends_with(tag)) return false;
    out = t.substr(tag.size(), t.size() - 2 * tag.size());
    return true;
  }
  bool escapes = false;
  if (t.size() >= 3 && (t.front() == 'E' || t.front() == 'e') && t[1] == '\'') {
    escapes = true;
    t.remove_prefix(1);
  }
  if (t.size() < 2 || t.front() != '\'' || t.back() != '\'') return false;
  auto body = t.substr(1, t.size() - 2);
  if (escapes) return decode_escapes(body, out);
  if (!standard_strings && body.find('\\') != std::string_view::npos) return false;
  for (size_t i = 0; i < body.size(); ++i) {
    out.push_back(body[i]);
    if (body[i] == '\'') {
      if (i + 1 >= body.size() || body[i + 1] != '\'') return false;  // a lone quote: two adjacent strings
      ++i;
    }
  }
  return true;
}

std::vector<Effect> statement_effects(std::string_view statement, const ClassifyContext& ctx) {
  std::vector<Effect> out;
  Lexed l(statement, proto::Dialect::Postgres);
  if (l.size() == 0) return out;
  if (l.kw(0, "BEGIN") || (l.kw(0, "START") && l.kw(1, "TRANSACTION"))) {
    out.push_back(make(EffectKind::Begin));
  } else if (l.kw(0, "COMMIT") || l.kw(0, "END")) {
    if (l.kw(1, "PREPARED")) return out;  // another, prepared transaction
    out.push_back(make(EffectKind::Commit));
    if (and_chain(l)) out.push_back(make(EffectKind::Begin));
  } else if (l.kw(0, "ROLLBACK") || l.kw(0, "ABORT")) {
    if (l.kw(1, "PREPARED")) return out;
    size_t i = (l.kw(1, "WORK") || l.kw(1, "TRANSACTION")) ? 2 : 1;
    if (l.kw(i, "TO")) {
      ++i;
      if (l.kw(i, "SAVEPOINT")) ++i;
      out.push_back(make(EffectKind::RollbackTo, ident(l, i)));
    } else {
      out.push_back(make(EffectKind::Rollback));
      if (and_chain(l)) out.push_back(make(EffectKind::Begin));
    }
  } else if (l.kw(0, "SAVEPOINT")) {
    out.push_back(make(EffectKind::Savepoint, ident(l, 1)));
  } else if (l.kw(0, "RELEASE")) {
    out.push_back(make(EffectKind::Release, ident(l, l.kw(1, "SAVEPOINT") ? 2 : 1)));
  } else if (l.kw(0, "SET")) {
    classify_set(l, ctx, out);
    return out;
  } else if (l.kw(0, "RESET")) {
    classify_reset(l, out);
    return out;
  } else if (l.kw(0, "PREPARE")) {
    if (l.kw(1, "TRANSACTION")) {
      out.push_back(unknown("PREPARE TRANSACTION detached the transaction"));
      return out;
    }
    auto name = ident(l, 1);
    for (size_t i = 2; i < l.size(); ++i) {
      if (!l.kw(i, "AS")) continue;
      Effect e = make(EffectKind::Prepare, name, std::string(statement));
      e.body = std::string(l.from(i + 1));
      out.push_back(std::move(e));
      return out;  // the body runs at EXECUTE, not now
    }
    out.push_back(unknown("PREPARE without AS"));
    return out;
  } else if (l.kw(0, "DEALLOCATE")) {
    size_t i = l.kw(1, "PREPARE") ? 2 : 1;
    out.push_back(l.kw(i, "ALL") ? make(EffectKind::DeallocateAll) : make(EffectKind::Deallocate, ident(l, i)));
    return out;
  } else if (l.kw(0, "EXECUTE")) {
    out.push_back(make(EffectKind::Execute, ident(l, 1)));
    return out;
  } else if (l.kw(0, "DISCARD")) {
    if (l.kw(1, "ALL")) out.push_back(make(EffectKind::DiscardAll));
    if (l.kw(1, "TEMP") || l.kw(1, "TEMPORARY")) out.push_back(make(EffectKind::DiscardTemp));
    return out;  // PLANS and SEQUENCES leave nothing this model tracks
  } else if (l.kw(0, "LISTEN")) {
    out.push_back(make(EffectKind::Listen, ident(l, 1)));
    return out;
  } else if (l.kw(0, "UNLISTEN")) {
    out.push_back(l.op(1, "*") ? make(EffectKind::UnlistenAll) : make(EffectKind::Unlisten, ident(l, 1)));
    return out;
  } else if (l.kw(0, "CREATE")) {
    classify_create(l, out);
  } else if (l.kw(0, "DROP")) {
    classify_drop(l, out);
  } else if (l.kw(0, "SELECT")) {
    // SELECT ... INTO TEMP t creates a temporary table.
    for (size_t i = 1; i + 1 < l.size(); ++i) {
      if (!l.kw(i, "INTO") || !(l.kw(i + 1, "TEMP") || l.kw(i + 1, "TEMPORARY"))) continue;
      size_t at = l.kw(i + 2, "TABLE") ? i + 3 : i + 2, next = at;
      out.push_back(make(EffectKind::CreateTemp, qualified(l, at, next)));
      break;
    }
  }
  scan_calls(l, ctx, out);
  return out;
}

std::string_view connection_bound(std::string_view statement) {
  Lexed l(statement, proto::Dialect::Postgres);
  if (l.kw(0, "FETCH") || l.kw(0, "MOVE") || l.kw(0, "CLOSE")) return "it uses a cursor of this connection";
  for (size_t i = 0; i + 1 < l.size(); ++i) {
    if (l.kw(i, "PG_TEMP") && l.is(i + 1, TokenKind::Dot)) return "it names this connection's pg_temp schema";
    if (!l.is(i, TokenKind::Word) || !l.is(i + 1, TokenKind::LParen)) continue;
    auto fn = proto::lower(l.text(i));
    if (fn == "currval" || fn == "lastval") return "it reads a sequence value of this connection (currval/lastval)";
    if (fn == "pg_backend_pid" || fn == "pg_my_temp_schema" || fn == "pg_listening_channels" ||
        fn == "txid_current" || fn == "pg_current_xact_id")
      return "it calls a function whose answer depends on the connection";
  }
  return {};
}

}  // namespace sy::pg
