#include "rewrite/mysql_rewriter.h"

#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include "rewrite/common/case_expression.h"
#include "rewrite/common/entity_column.h"
#include "rewrite/common/event_builder.h"
#include "rewrite/common/unseen_sql.h"
#include "rewrite/common/value.h"
#include "rewrite/common/values_rows.h"
#include "rewrite/mysql/read_switch.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/sql_text.h"
#include "rewrite/statement_outcome.h"
#include "rewrite/text_edits.h"

namespace sy::rewrite {

using config::Phase;
using config::Unmapped;

namespace {

// The digits of a literal written `<x>'digits'` or `0<x>digits`, else nullopt.
std::optional<std::string_view> prefixed_digits(std::string_view t, char x) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  if (t.size() >= 3 && lower(t[0]) == x && t[1] == '\'' && t.back() == '\'') return t.substr(2, t.size() - 3);
  if (t.size() >= 3 && t[0] == '0' && t[1] == x) return t.substr(2);  // 0X.. is an identifier, not hex
  return std::nullopt;
}

// A hexadecimal or bit literal (X'..', 0x.., B'..', 0b..): a binary string,
// never the text or number it looks like.
bool is_mysql_binary_literal(std::string_view token) {
  return prefixed_digits(token, 'x') || prefixed_digits(token, 'b');
}

// The bytes of a well-formed hexadecimal literal (X'73656e74' and 0x73656e74
// are 'sent'); nullopt for anything else.
std::optional<std::string> mysql_hex_literal(std::string_view token) {
  auto digits = prefixed_digits(token, 'x');
  if (!digits) return std::nullopt;
  std::string hex(*digits);
  if (hex.size() % 2) {
    if (token[0] != '0') return std::nullopt;  // X'7' is an error; 0x7 is 0x07
    hex.insert(hex.begin(), '0');
  }
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (!std::isxdigit(static_cast<unsigned char>(hex[i])) || !std::isxdigit(static_cast<unsigned char>(hex[i + 1])))
      return std::nullopt;
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// One `col = expr` of a SET list (UPDATE, INSERT ... SET, ON DUPLICATE KEY UPDATE).
struct Assignment {
  std::string qualifier;  // table or alias before the dot, if any
  std::string column;
  int col_first = 0;
  int expr_first = 0, expr_last = 0;  // token indices, inclusive
};

class Analyzer {
 public:
  Analyzer(std::string_view sql, const std::vector<Token>& toks, const MigrationSet& ms, const RewriteOptions& o)
      : sql_(sql), t_(toks), ms_(ms), opts_(o), make_event_(sql, o.phase), read_(sql, toks, ms) {}

  std::vector<Edit> edits;
  std::vector<MigrationEvent> events;
  bool rejected = false;
  int statements = 0;
  std::optional<ReadShape> shape;  //!< of the last switched SELECT

  void run() {
    int start = 0;
    const int n = static_cast<int>(t_.size());
    for (int i = 0; i <= n; ++i) {
      if (i == n || t_[i].kind == TokenKind::Semicolon) {
        if (i > start) statement(start, i - 1);
        start = i + 1;
      }
    }
  }

 private:
  // ---- token helpers ------------------------------------------------------------
  std::string_view text(int i) const { return sql_.substr(t_[i].begin, t_[i].end - t_[i].begin); }
  bool kw(int i, std::string_view k) const { return i <= last_ && t_[i].kind == TokenKind::Word && iequals(text(i), k); }
  bool is(int i, TokenKind k) const { return i <= last_ && t_[i].kind == k; }
  bool is_ident(int i) const { return is(i, TokenKind::Word) || is(i, TokenKind::QuotedIdent); }
  std::string ident(int i) const {
    auto s = text(i);
    if (t_[i].kind != TokenKind::QuotedIdent) return std::string(s);
    std::string out;
    for (size_t k = 1; k + 1 < s.size(); ++k) {
      out.push_back(s[k]);
      if (s[k] == '`' && k + 2 < s.size() && s[k + 1] == '`') ++k;
    }
    return out;
  }

  // Index of the token ending the expression starting at `i` (inclusive): it
  // runs to a comma or closing bracket at depth 0, or a clause keyword.
  int expr_last(int i, std::initializer_list<std::string_view> stops) const {
    int depth = 0, k = i;
    for (; k <= last_; ++k) {
      auto kind = t_[k].kind;
      if (kind == TokenKind::LParen || kind == TokenKind::LBracket) {
        ++depth;
      } else if (kind == TokenKind::RParen || kind == TokenKind::RBracket) {
        if (depth == 0) break;
        --depth;
      } else if (depth == 0 && kind == TokenKind::Comma) {
        break;
      } else if (depth == 0 && kind == TokenKind::Word && k > i) {
        bool stop = false;
        for (auto s : stops) stop = stop || iequals(text(k), s);
        if (stop) break;
      }
    }
    return std::max(i, k - 1);
  }

  // ---- statements ------------------------------------------------------------
  void statement(int first, int last) {
    first_ = first;
    last_ = last;
    ++statements;
    // In read_switch only SELECTs (and other reads) are switched; writes stay
    // dual-written. In cleanup a write's read parts are switched too.
    const bool reads = opts_.phase == Phase::ReadSwitch || opts_.phase == Phase::Cleanup;
    PendingStatement p;
    if (hidden_write(p)) return finish(p, first, last);
    if (reads && !read_.is_write(first)) return read_statement(first, last);
    // MySQL 8 allows WITH before UPDATE (and DELETE); the write after the CTEs
    // is rewritten as it would be on its own. CTE names the SET list refers to
    // stay in scope because the rewrite keeps the WITH clause.
    const int verb = kw(first, "WITH") ? after_ctes(first + 1) : first;
    if (kw(verb, "UPDATE")) {
      update(verb + 1, p);
    } else if (kw(verb, "INSERT") || kw(verb, "REPLACE")) {
      insert(verb + 1, p);
    } else if (kw(verb, "LOAD")) {
      load_data(verb, p);
    }
    for (int i = first; i <= last && p.unsupported.empty(); ++i)
      if (t_[i].kind == TokenKind::Opaque && !p.events.empty()) p.mark_unsupported("executable /*! */ comment in a migrated write", nullptr);
    if (opts_.phase == Phase::Cleanup) cleanup_reads(first, last, p);
    finish(p, first, last);
  }

  // SQL the recogniser cannot see into, in the statement first_..last_: an
  // executable comment (/*! */, /*M! */) that names a migrated table or
  // legacy column in a statement that may write it, or a string that is
  // dynamic SQL (PREPARE s FROM '...', EXECUTE IMMEDIATE '...', SET @v =
  // '...') and may write a legacy column. Marks `p` unsupported; true if so.
  //
  // `PREPARE s FROM @v` itself says nothing about the text, and flagging
  // every such PREPARE would flag unrelated tables too: the text is checked
  // where a client spells it, in the `SET @v = '...'` that builds it.
  bool hidden_write(PendingStatement& p) const {
    const auto statement_text = sql_.substr(t_[first_].begin, t_[last_].end - t_[first_].begin);
    for (int i = first_; i <= last_; ++i)
      if (t_[i].kind == TokenKind::Opaque && !named_in(ms_, text(i)).empty())
        if (const auto* m = may_write_in(ms_, statement_text)) {
          p.mark_unsupported("an executable comment in a write of " + m->cfg->table + " (not analysed)", m);
          return true;
        }
    const bool dynamic = kw(first_, "PREPARE") || (kw(first_, "EXECUTE") && kw(first_ + 1, "IMMEDIATE")) ||
                         (kw(first_, "SET") && is(first_ + 1, TokenKind::Operator) && text(first_ + 1) == "@");
    for (int i = first_; dynamic && i <= last_; ++i)
      if (t_[i].kind == TokenKind::String)
        if (const auto* m = may_write_in(ms_, unquote_mysql_string(text(i)))) {
          p.mark_unsupported("dynamic SQL text that may write " + m->cfg->table + "." + m->cfg->legacy_column +
                                 " (PREPARE / EXECUTE IMMEDIATE strings are not rewritten)",
                             m);
          return true;
        }
    return false;
  }

  static MigrationEvent read_event(Outcome outcome, const CompiledMigration* m, std::string reason) {
    MigrationEvent ev;
    ev.outcome = outcome;
    if (m) {
      ev.migration = m->cfg->name;
      ev.table = m->cfg->table;
    }
    ev.reason = std::move(reason);
    return ev;
  }

  // A statement that is not a write, in read_switch or cleanup.
  void read_statement(int first, int last) {
    auto r = read_.read(first, last);
    if (!r.unsupported.empty()) {
      events.push_back(read_event(Outcome::ReadUnsupported, r.unsupported_migration, std::move(r.unsupported)));
      return;
    }
    for (const auto* m : r.switched) events.push_back(read_event(Outcome::ReadSwitched, m, ""));
    for (auto& e : r.edits) edits.push_back(std::move(e));
    shape = std::move(r.shape);
  }

  // Cleanup no longer writes the legacy column, so what a write reads of it
  // (WHERE, SET right-hand sides, INSERT ... SELECT) must be reverse(unified).
  // What cannot be switched is an unsupported write: it never computes from
  // the stale column silently.
  void cleanup_reads(int first, int last, PendingStatement& p) {
    if (!p.unsupported.empty()) return;
    auto r = read_.write(first, last);
    if (!r.unsupported.empty())
      return p.mark_unsupported("cleanup write reads the legacy column: " + r.unsupported, r.unsupported_migration);
    // The write rewrite copies the legacy value's expression into its CASE;
    // a switched reference inside it would be lost there.
    for (const auto& re : r.edits)
      for (const auto& we : p.edits)
        if (we.remove > 0 && re.at < we.at + we.remove && we.at < re.at + re.remove)
          return p.mark_unsupported("cleanup write computes the legacy value it writes from the legacy column",
                                    r.switched.empty() ? nullptr : r.switched.front());
    for (const auto* m : r.switched) p.events.push_back(read_event(Outcome::ReadSwitched, m, ""));
    for (auto& e : r.edits) p.edits.push_back(std::move(e));
  }

  // The first top-level token after `[RECURSIVE] name [(cols)] AS (...)[, ...]`.
  int after_ctes(int i) const {
    int depth = 0;
    for (; i <= last_; ++i) {
      auto kind = t_[i].kind;
      if (kind == TokenKind::LParen) ++depth;
      else if (kind == TokenKind::RParen) --depth;
      else if (depth == 0 && (kw(i, "UPDATE") || kw(i, "INSERT") || kw(i, "REPLACE") || kw(i, "SELECT") ||
                              kw(i, "DELETE")))
        return i;
    }
    return i;
  }

  // Parses `[schema.]table`; returns the index after it, or -1.
  int table_ref(int i, std::string& schema, std::string& table) const {
    if (!is_ident(i)) return -1;
    table = ident(i);
    if (is(i + 1, TokenKind::Dot) && is_ident(i + 2)) {
      schema = table;
      table = ident(i + 2);
      return i + 3;
    }
    return i + 1;
  }

  std::string table_label(const std::string& schema, const std::string& table) const {
    return schema.empty() ? table : schema + "." + table;
  }

  void update(int i, PendingStatement& p) {
    while (kw(i, "LOW_PRIORITY") || kw(i, "IGNORE")) ++i;
    const int tables_start = i;
    std::string schema, table, alias;
    i = table_ref(i, schema, table);
    if (i < 0) return;
    auto migs = ms_.for_mysql_table(schema, table);
    if (kw(i, "AS")) ++i;
    if (is_ident(i) && !kw(i, "SET")) alias = ident(i++);
    if (!kw(i, "SET")) {
      // t1, t2 ... or t1 JOIN t2: a multi-table UPDATE.
      if (auto* m = first_migration(tables_start)) p.mark_unsupported("multi-table UPDATE has no left-to-right guarantee", m);
      return;
    }
    if (migs.empty()) return;
    auto assigns = set_list(i + 1, {"WHERE", "ORDER", "LIMIT"});
    for (const auto* m : migs) assignment_pair(*m, assigns, table, alias, table_label(schema, table), entity_id(*m), p);
  }

  const CompiledMigration* first_migration(int i) const {
    for (int k = i; k <= last_ && !kw(k, "SET"); ++k) {
      std::string schema, table;
      if (!is_ident(k)) continue;
      table_ref(k, schema, table);
      auto migs = ms_.for_mysql_table(schema, table);
      if (!migs.empty()) return migs.front();
    }
    return nullptr;
  }

  // `:` directly followed by `=`: MySQL's other assignment operator.
  bool walrus(int i) const {
    return is(i, TokenKind::Operator) && text(i) == ":" && is(i + 1, TokenKind::Operator) && text(i + 1) == "=" &&
           t_[i].end == t_[i + 1].begin;
  }

  std::vector<Assignment> set_list(int i, std::initializer_list<std::string_view> stops) const {
    std::vector<Assignment> out;
    while (i <= last_) {
      Assignment a;
      a.col_first = i;
      if (!is_ident(i)) break;
      a.column = ident(i);
      int k = i + 1;
      while (is(k, TokenKind::Dot) && is_ident(k + 1)) {
        a.qualifier = a.column;
        a.column = ident(k + 1);
        k += 2;
      }
      // `=`, or `:=`, which the lexer (shared with the session-state model)
      // gives as `:` and `=`.
      if (walrus(k)) ++k;
      if (!is(k, TokenKind::Operator) || text(k) != "=") break;
      a.expr_first = k + 1;
      if (a.expr_first > last_) break;
      a.expr_last = expr_last(a.expr_first, stops);
      out.push_back(a);
      i = a.expr_last + 1;
      if (!is(i, TokenKind::Comma)) break;
      ++i;
    }
    return out;
  }

  // The legacy assignment of `m` in a SET list, and the unified one placed after it.
  void assignment_pair(const CompiledMigration& m, const std::vector<Assignment>& assigns, const std::string& table,
                       const std::string& alias, const std::string& label, const std::string& entity, PendingStatement& p) {
    const Assignment* legacy = nullptr;
    for (const auto& a : assigns) {
      if (!a.qualifier.empty() && a.qualifier != table && a.qualifier != alias) continue;
      if (iequals(a.column, m.cfg->unified_column)) return;  // set explicitly: left alone
      if (iequals(a.column, m.cfg->legacy_column)) legacy = &a;
    }
    if (!legacy) return;
    Value v = classify(legacy->expr_first, legacy->expr_last);
    if (v.kind == Value::Kind::Default) return p.mark_unsupported("DEFAULT assigned to " + m.cfg->legacy_column, &m);
    auto ev = make_event_(m, label, v, entity);
    std::string unified = unified_value(m, v, ev, p, /*row_has_unified=*/true);
    if (!p.unsupported.empty()) return;
    p.events.push_back(ev);
    if (unified.empty()) {
      if (opts_.phase != Phase::Cleanup) return;        // keep: nothing to add
      unified = quote_mysql_ident(m.cfg->unified_column);  // cleanup + keep: assign it to itself
    }
    auto col = quote_mysql_ident(m.cfg->unified_column);
    if (opts_.phase == Phase::Cleanup) {
      uint32_t from = t_[legacy->col_first].begin;
      p.edits.push_back({from, v.end - from, col + " = " + cleanup_value(m, v, unified)});
    } else {
      // After the whole SET list: MySQL assigns left to right, so a later
      // assignment that reads the unified column (`other = unified_state`)
      // still sees the row's old value, as without the proxy; and the CASE
      // over the legacy column sees its final value, computed once.
      p.edits.push_back({t_[assigns.back().expr_last].end, 0, ", " + col + " = " + unified});
    }
  }

  void insert(int i, PendingStatement& p) {
    while (kw(i, "LOW_PRIORITY") || kw(i, "DELAYED") || kw(i, "HIGH_PRIORITY") || kw(i, "IGNORE")) ++i;
    if (kw(i, "INTO")) ++i;
    std::string schema, table;
    i = table_ref(i, schema, table);
    if (i < 0) return;
    auto migs = ms_.for_mysql_table(schema, table);
    if (migs.empty()) return;
    auto label = table_label(schema, table);
    if (kw(i, "PARTITION")) return p.mark_unsupported("INSERT with PARTITION", migs.front());
    if (kw(i, "SET")) {
      auto assigns = set_list(i + 1, {"ON"});
      for (const auto* m : migs)
        if (!assigns_column(assigns, m->cfg->legacy_column) && !assigns_column(assigns, m->cfg->unified_column))
          return mark_legacy_default(p, *m, "an INSERT ... SET that");
      for (const auto* m : migs) assignment_pair(*m, assigns, table, "", label, "", p);
      int after = assigns.empty() ? i : assigns.back().expr_last + 1;
      on_duplicate(after, migs, table, label, p);
      return;
    }
    if (!is(i, TokenKind::LParen)) return p.mark_unsupported("INSERT without a column list into " + label, migs.front());
    std::vector<std::pair<std::string, int>> cols;  // name, token
    int k = i + 1;
    while (is_ident(k)) {
      cols.emplace_back(ident(k), k);
      ++k;
      if (is(k, TokenKind::Comma)) ++k;
    }
    if (!is(k, TokenKind::RParen)) return p.mark_unsupported("unreadable column list", migs.front());
    ++k;
    for (const auto* m : migs) {
      int legacy = -1;
      bool explicit_unified = false;
      for (size_t c = 0; c < cols.size(); ++c) {
        if (iequals(cols[c].first, m->cfg->unified_column)) explicit_unified = true;
        if (iequals(cols[c].first, m->cfg->legacy_column)) legacy = static_cast<int>(c);
      }
      if (explicit_unified) continue;
      if (legacy < 0) return mark_legacy_default(p, *m, "an INSERT whose column list");
      if (kw(k, "VALUES") || kw(k, "VALUE")) {
        values_rows(*m, k + 1, cols[legacy].second, static_cast<size_t>(legacy), cols.size(), label, p);
      } else if (kw(k, "SELECT") || is(k, TokenKind::LParen)) {
        insert_select(*m, k, cols[legacy].second, static_cast<size_t>(legacy), cols.size(), label, p);
      } else {
        p.mark_unsupported("unrecognised INSERT form", m);
      }
      if (!p.unsupported.empty()) return;
    }
    // ON DUPLICATE KEY UPDATE after the rows
    for (int j = k; j <= last_; ++j)
      if (kw(j, "ON") && kw(j + 1, "DUPLICATE")) return on_duplicate(j, migs, table, label, p);
    on_duplicate(last_ + 1, migs, table, label, p);
  }

  static bool assigns_column(const std::vector<Assignment>& assigns, const std::string& column) {
    for (const auto& a : assigns)
      if (iequals(a.column, column)) return true;
    return false;
  }

  void on_duplicate(int i, const std::vector<const CompiledMigration*>& migs, const std::string& table,
                    const std::string& label, PendingStatement& p) {
    // ... [AS alias] ON DUPLICATE KEY UPDATE a = b, ...
    int k = i;
    while (k <= last_ && !(kw(k, "ON") && kw(k + 1, "DUPLICATE"))) ++k;
    if (k > last_ || !kw(k + 2, "KEY") || !kw(k + 3, "UPDATE")) return;
    auto assigns = set_list(k + 4, {});
    for (const auto* m : migs) assignment_pair(*m, assigns, table, "", label, "", p);
  }

  InsertColumn insert_column(const CompiledMigration& m, int col_tok, size_t k, size_t ncols, const std::string& label) {
    return {.m = &m, .table = label, .legacy = t_[col_tok], .quoted_unified = quote_mysql_ident(m.cfg->unified_column),
            .index = k, .width = ncols};
  }

  void values_rows(const CompiledMigration& m, int i, int col_tok, size_t k, size_t ncols, const std::string& label,
                   PendingStatement& p) {
    auto split = split_rows(t_, i, last_);
    if (!split) return p.mark_unsupported("unterminated VALUES row", &m);
    ValuesRowHooks hooks;
    hooks.classify = [this](size_t, int first, int last) -> std::optional<Value> { return classify(first, last); };
    hooks.unified = [&](const Value& v, MigrationEvent& ev) {
      return unified_value(m, v, ev, p, /*row_has_unified=*/false);
    };
    hooks.cleanup_text = [&](const Value& v, const std::string& unified) { return cleanup_value(m, v, unified); };
    map_values_rows(insert_column(m, col_tok, k, ncols, label), *split, make_event_, hooks,
                    opts_.phase == Phase::Cleanup, p);
  }

  void insert_select(const CompiledMigration& m, int i, int col_tok, size_t k, size_t ncols, const std::string& label,
                     PendingStatement& p) {
    if (!kw(i, "SELECT")) return p.mark_unsupported("INSERT ... (SELECT ...) in parentheses", &m);
    int j = i + 1;
    while (kw(j, "DISTINCT") || kw(j, "ALL") || kw(j, "STRAIGHT_JOIN") || kw(j, "SQL_NO_CACHE")) ++j;
    std::vector<std::pair<int, int>> items;
    static const std::initializer_list<std::string_view> stops = {"FROM", "WHERE", "GROUP", "HAVING", "ORDER",
                                                                  "LIMIT", "UNION", "ON", "AS", "INTO", "FOR"};
    while (j <= last_) {
      int e = expr_last(j, stops);
      int after = e + 1;
      if (kw(after, "AS")) after += 2;  // alias
      // `expr alias` without AS: the scan took the alias as part of the
      // expression. Mapping that text would be a syntax error; report it.
      if (e > j && trailing_alias(j, e))
        return p.mark_unsupported("INSERT ... SELECT with a select-list alias without AS", &m);
      items.emplace_back(j, e);
      if (!is(after, TokenKind::Comma)) {
        j = after;
        break;
      }
      j = after + 1;
    }
    for (int q = i; q <= last_; ++q)
      if (kw(q, "UNION")) return p.mark_unsupported("INSERT ... SELECT with UNION", &m);
    if (items.size() != ncols) return p.mark_unsupported("INSERT ... SELECT whose select list does not match the column list", &m);
    auto [first, last] = items[k];
    if (text(first) == "*") return p.mark_unsupported("INSERT ... SELECT *", &m);
    Value v = classify(first, last);
    // The select list cannot see the row being inserted, so the mapping must
    // repeat the expression: only safe without parameters, and without calls
    // or sub-queries (RAND(), a stored function) that would run twice.
    if (v.has_param) return p.mark_unsupported("INSERT ... SELECT with a parameter in the legacy value", &m);
    if (opts_.phase != Phase::Cleanup && v.kind == Value::Kind::Expr && calls_or_subquery(first, last))
      return p.mark_unsupported("INSERT ... SELECT whose " + m.cfg->legacy_column +
                                    " value calls a function or sub-query (the copy would run it twice)",
                                &m);
    auto ev = make_event_(m, label, v);
    std::string unified = unified_value(m, v, ev, p, /*row_has_unified=*/false);
    if (!p.unsupported.empty()) return;
    if (v.kind == Value::Kind::Expr) unified = case_over(m, v.text(sql_), "NULL");
    if (unified.empty()) unified = "NULL";
    p.events.push_back(ev);
    uint32_t end = t_[last].end;
    if (kw(last + 1, "AS") && is_ident(last + 2)) end = t_[last + 2].end;  // text may end at AS
    const bool cleanup = opts_.phase == Phase::Cleanup;
    p.edits.push_back(unified_column_edit(insert_column(m, col_tok, k, ncols, label), cleanup));
    p.edits.push_back(unified_value_edit(v, end, std::move(unified), cleanup));
  }

  void load_data(int first, PendingStatement& p) {
    for (int i = first; i <= last_; ++i)
      if (kw(i, "TABLE")) {
        std::string schema, table;
        int after = table_ref(i + 1, schema, table);
        for (const auto* m : ms_.for_mysql_table(schema, table)) {
          // With a column list (or SET) that leaves the legacy column out,
          // the file never writes it; without one it writes every column.
          bool has_list = false, names_legacy = false;
          for (int k = after < 0 ? i + 1 : after; k <= last_; ++k) {
            if (kw(k, "PARTITION") && is(k + 1, TokenKind::LParen)) {  // partition names, not columns
              while (k <= last_ && !is(k, TokenKind::RParen)) ++k;
              continue;
            }
            has_list = has_list || is(k, TokenKind::LParen) || (kw(k, "SET") && !kw(k - 1, "CHARACTER"));
            names_legacy = names_legacy || (is_ident(k) && iequals(ident(k), m->cfg->legacy_column));
          }
          if (has_list && !names_legacy) continue;
          p.mark_unsupported("LOAD DATA into " + table + " cannot be rewritten", m);
          return;
        }
        return;
      }
  }

  // Whether tokens first..last end in an alias written without AS: a name
  // right after something that completes a value (a name, literal or `)`),
  // other than the words that end expressions themselves.
  bool trailing_alias(int first, int last) const {
    if (!is_ident(last) || last <= first) return false;
    static const std::initializer_list<std::string_view> kEnders = {"END", "NULL", "TRUE", "FALSE", "UNKNOWN"};
    for (auto w : kEnders)
      if (kw(last, w)) return false;
    const int prev = last - 1;
    if (!(is_ident(prev) || is(prev, TokenKind::String) || is(prev, TokenKind::Number) || is(prev, TokenKind::RParen)))
      return false;
    // `INTERVAL 1 DAY`, `x COLLATE name`, `BINARY x`: a keyword before the
    // value makes the last word part of the expression. Reported all the
    // same: a false alarm only forwards the statement unchanged.
    return true;
  }

  // A sub-query, or a call `name(` of anything but operators written as
  // words and a few built-in string functions that are deterministic and
  // without side effects (RAND(), UUID() and stored functions are not).
  bool calls_or_subquery(int first, int last) const {
    static const std::initializer_list<std::string_view> kRepeatable = {
        "IN",    "AND",   "OR",   "NOT",     "XOR",       "CASE",    "WHEN",   "THEN",  "ELSE",  "IS",
        "LIKE",  "BETWEEN", "CAST", "CONVERT", "BINARY",  "UPPER",   "LOWER",  "UCASE", "LCASE", "TRIM",
        "LTRIM", "RTRIM", "CONCAT", "CONCAT_WS", "REPLACE", "SUBSTRING", "SUBSTR", "LEFT", "RIGHT", "LPAD",
        "RPAD",  "COALESCE", "IFNULL", "NULLIF", "IF"};
    for (int i = first; i <= last; ++i) {
      if (kw(i, "SELECT")) return true;
      if (i == first || !is(i, TokenKind::LParen) || !is_ident(i - 1)) continue;
      bool repeatable = false;
      for (auto w : kRepeatable) repeatable = repeatable || kw(i - 1, w);
      if (!repeatable) return true;
    }
    return false;
  }

  Value classify(int first, int last) const {
    Value v;
    v.begin = t_[first].begin;
    v.end = t_[last].end;
    for (int i = first; i <= last; ++i) v.has_param = v.has_param || t_[i].kind == TokenKind::Param;
    if (first == last) {
      if (is_mysql_binary_literal(text(first))) {
        // X'73656e74' stores 'sent': map its bytes. A bit literal (or a
        // malformed one) stays an expression, mapped in SQL by the CASE.
        if (auto hex = mysql_hex_literal(text(first))) {
          v.kind = Value::Kind::Literal;
          v.literal = std::move(*hex);
        }
      } else if (t_[first].kind == TokenKind::String) {
        v.kind = Value::Kind::Literal;
        v.literal = unquote_mysql_string(text(first));
      } else if (t_[first].kind == TokenKind::Number) {
        v.kind = Value::Kind::Literal;
        v.literal = std::string(text(first));
      } else if (kw(first, "NULL")) {
        v.kind = Value::Kind::Null;
      } else if (kw(first, "DEFAULT")) {
        v.kind = Value::Kind::Default;
      }
    }
    return v;
  }

  // CASE over an expression that yields the legacy value.
  std::string case_over(const CompiledMigration& m, std::string_view legacy_expr, const std::string& else_) const {
    return case_expression(legacy_expr, m.cfg->map, quote_mysql_literal, else_);
  }

  std::string reject_expr(const CompiledMigration& m, const std::string& legacy_expr) const {
    // No RAISE in an expression: a subquery returning two rows aborts the
    // statement (error 1242) with nothing written; the log names the value.
    (void)legacy_expr;
    return "(SELECT " + quote_mysql_literal("switchyard: unmapped value for " + m.cfg->legacy_column + " (reject)") +
           " UNION ALL SELECT NULL)";
  }

  // Returns the unified expression, empty for "assign nothing" (keep).
  // `row_has_unified`: the unified column holds the row's current value
  // (UPDATE, ON DUPLICATE KEY UPDATE); in VALUES it would read its default.
  std::string unified_value(const CompiledMigration& m, const Value& v, MigrationEvent& ev, PendingStatement& p,
                            bool row_has_unified) {
    (void)row_has_unified;
    const auto policy = m.cfg->unmapped;
    auto legacy_col = quote_mysql_ident(m.cfg->legacy_column);
    auto unified_col = quote_mysql_ident(m.cfg->unified_column);
    if (v.kind == Value::Kind::Literal || v.kind == Value::Kind::Null)
      return unified_for_literal(m, v.kind == Value::Kind::Literal ? &v.literal : nullptr, ev.table, ev, p,
                                 quote_mysql_literal);
    ev.unified = "CASE";
    std::string else_;
    switch (policy) {
      case Unmapped::Keep: else_ = unified_col; break;
      case Unmapped::Copy: else_ = legacy_col; break;
      case Unmapped::Null: else_ = "NULL"; break;
      case Unmapped::Reject: else_ = reject_expr(m, legacy_col); break;
    }
    // Left to right: the legacy column already holds the new value here.
    return case_over(m, legacy_col, else_);
  }

  // In cleanup the legacy column is no longer assigned, so a CASE must read
  // the client's expression itself (it still appears exactly once).
  std::string cleanup_value(const CompiledMigration& m, const Value& v, const std::string& unified) const {
    if (v.kind != Value::Kind::Expr) return unified;
    std::string expr(v.text(sql_));
    std::string else_;
    switch (m.cfg->unmapped) {
      case Unmapped::Keep: else_ = quote_mysql_ident(m.cfg->unified_column); break;
      case Unmapped::Copy: else_ = "NULL"; break;  // the legacy value is gone in cleanup
      case Unmapped::Null: else_ = "NULL"; break;
      case Unmapped::Reject: else_ = reject_expr(m, expr); break;
    }
    return case_over(m, "(" + expr + ")", else_);
  }

  // The literal of `WHERE <entity column> = literal`, when the statement has one.
  std::string entity_id(const CompiledMigration& m) const {
    for (int i = first_; i + 3 <= last_; ++i)
      if (kw(i, "WHERE") && is_ident(i + 1) && is_entity_column(m, ident(i + 1), Dialect::Mysql) &&
          is(i + 2, TokenKind::Operator) && text(i + 2) == "=" &&
          (is(i + 3, TokenKind::Number) || is(i + 3, TokenKind::String)))
        return t_[i + 3].kind == TokenKind::String ? unquote_mysql_string(text(i + 3)) : std::string(text(i + 3));
    return "";
  }

  void finish(PendingStatement& p, int first, int last) {
    uint32_t begin = t_[first].begin, end = t_[last].end;
    finish_statement(p, opts_, events, edits,
                     [&](const std::string& message, const char*) { refuse(begin, end, message); });
  }

  // SIGNAL fails the statement with our message and SQLSTATE 45000 (error
  // 1644), in text protocol and as a prepared statement alike.
  void refuse(uint32_t begin, uint32_t end, const std::string& message) {
    rejected = true;
    // MESSAGE_TEXT takes a plain literal: quotes and escapes become '?'.
    std::string text = "switchyard: " + message;
    for (auto& c : text)
      if (c == '\'' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '?';
    if (text.size() > 128) text.resize(128);  // MESSAGE_TEXT's limit
    edits.push_back({begin, end - begin, "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '" + text + "'"});
  }

  std::string_view sql_;
  const std::vector<Token>& t_;
  const MigrationSet& ms_;
  const RewriteOptions& opts_;
  EventBuilder make_event_;
  mysql::ReadSwitch read_;
  int first_ = 0, last_ = -1;
};

// A statement's shape for logs: its tokens with every literal and
// placeholder folded to one symbol, hashed (FNV-1a), as hex. Statements that
// differ only in values share it, as pg_query's fingerprints do.
std::string fingerprint(std::string_view sql, const std::vector<Token>& toks) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  for (const auto& t : toks) {
    bool value = t.kind == TokenKind::String || t.kind == TokenKind::Number || t.kind == TokenKind::Param;
    mix(value ? std::string_view("?") : sql.substr(t.begin, t.end - t.begin));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

int count_params(const std::vector<Token>& toks) {
  int n = 0;
  for (const auto& t : toks) n += t.kind == TokenKind::Param;
  return n;
}

}  // namespace

Decision MysqlRewriter::rewrite(std::string_view sql, const RewriteOptions& opts) const {
  Decision d;
  if (opts.phase == Phase::Off || migrations_.empty()) return d;
  auto toks = lex_sql(sql, Dialect::Mysql);
  Analyzer a(sql, toks, migrations_, opts);
  a.run();
  d.events = std::move(a.events);
  d.rejected = a.rejected;
  if (!d.events.empty()) d.fingerprint = fingerprint(sql, toks);
  if (a.edits.empty()) return d;
  std::string out = apply_edits(sql, std::move(a.edits));
  // The same check as the PostgreSQL side, with the tokenizer as the parser:
  // the statement count and the number of ? placeholders must not change.
  auto out_toks = lex_sql(out, Dialect::Mysql);
  int before = 0, after = 0;
  for (const auto& t : toks) before += t.kind == TokenKind::Semicolon;
  for (const auto& t : out_toks) after += t.kind == TokenKind::Semicolon;
  if (before != after || (!d.rejected && count_params(out_toks) != count_params(toks)))
    return forward_unverified(std::move(d), "rewritten text did not verify: statement or parameter count changed");
  d.action = Decision::Action::Rewrite;
  d.sql = std::move(out);
  if (a.statements == 1 && a.shape) d.read_shape = std::move(a.shape);
  return d;
}

}  // namespace sy::rewrite
