#include "rewrite/mysql/read_switch.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "rewrite/sql_text.h"

namespace sy::rewrite::mysql {

namespace {

// A table in a FROM clause (or the target of an UPDATE, DELETE or INSERT).
struct Factor {
  std::string db, table, alias;  // alias empty when there is none
  std::vector<const CompiledMigration*> migrations;
  std::string qualifier;  // how the emitted SQL names it: `alias`, `table` or `db`.`table`

  const CompiledMigration* legacy(std::string_view column) const {
    for (const auto* m : migrations)
      if (iequals(m->cfg->legacy_column, column)) return m;
    return nullptr;
  }
};

// One select-list item, for the names GROUP BY, HAVING and ORDER BY may mean.
struct Item {
  std::string name;  // its output name (alias, or the column of a bare reference)
  const Factor* factor = nullptr;  // set when the item is a bare reference to a legacy column
  const CompiledMigration* migration = nullptr;
};

// A legacy column of one table of a scope.
struct Ref {
  const Factor* factor = nullptr;
  const CompiledMigration* migration = nullptr;
  bool operator==(const Ref&) const = default;
};

// The names one SELECT (or one write) can see. Scopes chain outwards for
// correlated subqueries; a derived table's scope skips the SELECT it sits in.
struct Scope {
  const Scope* parent = nullptr;
  std::vector<Factor> factors;
  std::vector<Item> items;
  // Legacy columns this SELECT groups by (a bare GROUP BY item, no ROLLUP).
  // Outside aggregates the select list, HAVING and ORDER BY read them as
  // MIN(legacy'): the group's one value, and an aggregate, so that MariaDB
  // under ONLY_FULL_GROUP_BY (which does not match the select list's CASE
  // with GROUP BY's) and HAVING (which rejects the bare CASE, 1054) accept it.
  std::vector<Ref> grouped;
  // While an ON condition is read, only the join so far is visible.
  size_t visible_begin = 0, visible_end = SIZE_MAX;

  bool visible(size_t k) const { return k >= visible_begin && k < visible_end; }
  bool groups_by(const Ref& r) const { return std::find(grouped.begin(), grouped.end(), r) != grouped.end(); }
  const Item* item(std::string_view name) const {
    for (const auto& it : items)
      if (iequals(it.name, name)) return &it;
    return nullptr;
  }
};

// Where in a statement an expression is: it decides which names mean a
// select-list alias and whether a reference may be switched at all.
enum class Clause { Select, Where, On, GroupBy, Having, OrderBy, Set, InsertRow };

// Words that cannot be a table alias written without AS.
bool ends_table_factor(std::string_view w) {
  for (std::string_view k : {"JOIN", "INNER", "CROSS", "LEFT", "RIGHT", "STRAIGHT_JOIN", "NATURAL", "ON", "USING",
                             "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "EXCEPT", "INTERSECT", "FOR",
                             "LOCK", "WINDOW", "USE", "FORCE", "IGNORE", "INTO", "PROCEDURE", "FETCH", "OFFSET",
                             "PARTITION", "SET", "RETURNING", "VALUES", "VALUE", "SELECT"})
    if (iequals(w, k)) return true;
  return false;
}

// Keywords after which an operand follows: a word right after one of them is
// an operand, never a select-list alias.
bool expects_operand(std::string_view w) {
  for (std::string_view k : {"AND", "OR", "XOR", "NOT", "IS", "LIKE", "RLIKE", "REGEXP", "IN", "BETWEEN", "DIV", "MOD",
                             "BINARY", "COLLATE", "INTERVAL", "CASE", "WHEN", "THEN", "ELSE", "ESCAPE", "SOUNDS",
                             "DISTINCT", "ALL", "ANY", "SOME", "EXISTS", "AS", "SELECT", "DISTINCTROW", "NULL",
                             "TRUE", "FALSE", "UNKNOWN", "END"})
    if (iequals(w, k)) return true;
  return false;
}

bool aggregate(std::string_view w) {
  for (std::string_view k : {"COUNT", "SUM", "MIN", "MAX", "AVG", "GROUP_CONCAT", "BIT_AND", "BIT_OR", "BIT_XOR", "STD",
                             "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VAR_POP", "VAR_SAMP", "VARIANCE", "JSON_ARRAYAGG",
                             "JSON_OBJECTAGG"})
    if (iequals(w, k)) return true;
  return false;
}

bool select_modifier(std::string_view w) {
  for (std::string_view k : {"ALL", "DISTINCT", "DISTINCTROW", "HIGH_PRIORITY", "STRAIGHT_JOIN", "SQL_SMALL_RESULT",
                             "SQL_BIG_RESULT", "SQL_BUFFER_RESULT", "SQL_CACHE", "SQL_NO_CACHE", "SQL_CALC_FOUND_ROWS"})
    if (iequals(w, k)) return true;
  return false;
}

// Statements that read no rows of a table: never switched, never reported.
bool reads_no_rows(std::string_view w) {
  for (std::string_view k : {"EXPLAIN", "DESCRIBE", "DESC", "SHOW", "ALTER", "DROP", "TRUNCATE", "RENAME", "ANALYZE",
                             "OPTIMIZE", "CHECK", "CHECKSUM", "REPAIR", "GRANT", "REVOKE", "LOCK", "UNLOCK", "FLUSH",
                             "KILL", "USE", "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "XA",
                             "DEALLOCATE", "HELP", "PURGE", "RESET", "EXECUTE", "LOAD"})
    if (iequals(w, k)) return true;
  return false;
}

// One statement's walk. Any reason to give up is kept in `out.unsupported`
// and stops the walk: no edit of a statement that is not switched whole.
class Walker {
 public:
  Walker(std::string_view sql, const std::vector<Token>& t, const MigrationSet& ms, int first, int last)
      : sql_(sql), t_(t), ms_(ms), first_(first), last_(last) {
    relevant_ = ms_.mentioned_in(sql_.substr(t_[first].begin, t_[last].end - t_[first].begin));
  }

  ReadSwitchResult out;
  //! What the shadow comparator needs of the statement's own SELECT, once walked.
  std::optional<ReadShape> shape() const {
    if (failed() || !top_walked_) return std::nullopt;
    return shape_;
  }

  // False when nothing in the statement can read a legacy column of a table
  // it names: no such column name, no `*` that expands, no NATURAL join.
  bool may_read_legacy() const {
    if (relevant_.empty()) return false;
    for (int i = first_; i <= last_; ++i) {
      if (is_ident(i) && relevant_name(ident(i))) return true;
      if (is(i, TokenKind::Opaque) || kw(i, "NATURAL")) return true;
      if (double_quoted(i) && relevant_name(unquote_mysql_string(text(i)))) return true;
      if (is_star(i) && (is(i - 1, TokenKind::Dot) || kw(i - 1, "SELECT") || (i > first_ && select_modifier(text(i - 1)))))
        return true;
    }
    return false;
  }

  void read() {
    // The text of PREPARE ... FROM is a string: a migrated table named in it
    // is all there is to go by.
    if (kw(first_, "PREPARE") && !relevant_.empty()) return fail("PREPARE ... FROM: the statement text is not switched");
    // TABLE t (MySQL 8) and HANDLER read every column without naming one.
    if ((kw(first_, "TABLE") || kw(first_, "HANDLER")) && !relevant_.empty())
      return fail(std::string(text(first_)) + " reads every column of a migrated table");
    if (escapes_matter()) return;
    if (!may_read_legacy()) return;
    if (opaque()) return;
    const int i = first_;
    if (kw(i, "SELECT") && !compound(i, last_)) top_ = i;  // one SELECT: it gets a ReadShape
    if (kw(i, "SELECT") || is(i, TokenKind::LParen)) return query(i, last_, nullptr, false);
    if (kw(i, "WITH")) return with(i + 1);
    if (kw(i, "CREATE")) {
      for (int k = i; k <= last_; ++k)
        if (kw(k, "SELECT")) return fail("CREATE ... SELECT is not switched");
      return;
    }
    if (is(i, TokenKind::Word) && reads_no_rows(text(i))) return;
    return fail("a " + std::string(is(i, TokenKind::Word) ? text(i) : "statement") + " statement is not switched");
  }

  void write() {
    if (escapes_matter()) return;
    if (!may_read_legacy()) return;
    if (opaque()) return;
    const int i = first_;
    if (kw(i, "LOAD")) return;  // reads a file, not the table
    if (kw(i, "UPDATE")) return update(i + 1);
    if (kw(i, "DELETE")) return delete_(i + 1);
    if (kw(i, "INSERT") || kw(i, "REPLACE")) return insert(i + 1);
    fail("WITH before a write is not switched");
  }

 private:
  // ---- tokens --------------------------------------------------------------
  std::string_view text(int i) const { return sql_.substr(t_[i].begin, t_[i].end - t_[i].begin); }
  bool in(int i) const { return i >= first_ && i <= last_; }
  bool is(int i, TokenKind k) const { return in(i) && t_[i].kind == k; }
  bool kw(int i, std::string_view k) const { return is(i, TokenKind::Word) && iequals(text(i), k); }
  bool is_ident(int i) const { return is(i, TokenKind::Word) || is(i, TokenKind::QuotedIdent); }
  bool is_star(int i) const { return is(i, TokenKind::Operator) && text(i) == "*"; }
  bool double_quoted(int i) const { return is(i, TokenKind::String) && text(i).front() == '"'; }
  std::string ident(int i) const {
    auto s = text(i);
    if (t_[i].kind != TokenKind::QuotedIdent) return std::string(s);
    std::string v;
    for (size_t k = 1; k + 1 < s.size(); ++k) {
      v.push_back(s[k]);
      if (s[k] == '`' && k + 2 < s.size() && s[k + 1] == '`') ++k;
    }
    return v;
  }
  bool relevant_name(std::string_view name) const {
    for (const auto* m : relevant_)
      if (iequals(m->cfg->legacy_column, name)) return true;
    return false;
  }
  // The matching `)` of the `(` at i, or -1.
  int close(int i) const {
    int depth = 0;
    for (int k = i; k <= last_; ++k) {
      if (t_[k].kind == TokenKind::LParen) ++depth;
      else if (t_[k].kind == TokenKind::RParen && --depth == 0) return k;
    }
    return -1;
  }
  bool failed() const { return !out.unsupported.empty(); }
  static void add_unique(std::vector<std::string>& v, const std::string& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }
  // A UNION, EXCEPT or INTERSECT at depth 0 in a..b.
  bool compound(int a, int b) const {
    int depth = 0;
    for (int k = a; k <= b; ++k) {
      if (is(k, TokenKind::LParen)) ++depth;
      else if (is(k, TokenKind::RParen)) --depth;
      else if (depth == 0 && (kw(k, "UNION") || kw(k, "EXCEPT") || kw(k, "INTERSECT"))) return true;
    }
    return false;
  }
  void fail(std::string why, const CompiledMigration* m = nullptr) {
    if (failed()) return;
    out.unsupported = std::move(why);
    out.unsupported_migration = m ? m : relevant_.empty() ? nullptr : relevant_.front();
    out.edits.clear();
    out.switched.clear();
  }
  // Where a string literal holds a backslash, where it ends depends on
  // NO_BACKSLASH_ESCAPES (and for "...", on ANSI_QUOTES), which the text does
  // not say: what looks like the inside of a string may be a column.
  bool escapes_matter() {
    if (relevant_.empty()) return false;
    // Only where some lexing could find a read: a legacy name, `*` or NATURAL in the text.
    auto whole = sql_.substr(t_[first_].begin, t_[last_].end - t_[first_].begin);
    bool could_read = whole.find('*') != std::string_view::npos || contains_ci(whole, "natural");
    for (const auto* m : relevant_) {
      std::string lower(m->cfg->legacy_column);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      could_read = could_read || contains_ci(whole, lower);
    }
    if (!could_read) return false;
    for (int i = first_; i <= last_; ++i)
      if (is(i, TokenKind::String) && text(i).find('\\') != std::string_view::npos) {
        fail("a backslash in a string literal (where it ends depends on NO_BACKSLASH_ESCAPES)");
        return true;
      }
    return false;
  }

  bool opaque() {
    for (int i = first_; i <= last_; ++i)
      if (is(i, TokenKind::Opaque)) {
        fail("executable comment /*! */");
        return true;
      }
    return false;
  }

  // ---- SELECT --------------------------------------------------------------
  // Tokens a..b: a SELECT or a compound of them (UNION, EXCEPT, INTERSECT),
  // arms possibly in parentheses. Each arm is switched in its own scope; the
  // compound's output names are the first arm's, which keep theirs. An
  // ORDER BY or LIMIT of the whole compound names output columns, which are
  // already switched: it is left alone.
  void query(int a, int b, const Scope* parent, bool star_ok) {
    std::vector<std::pair<int, int>> arms;
    int depth = 0, start = a;
    for (int k = a; k <= b; ++k) {
      if (is(k, TokenKind::LParen)) ++depth;
      else if (is(k, TokenKind::RParen)) --depth;
      else if (depth == 0 && (kw(k, "UNION") || kw(k, "EXCEPT") || kw(k, "INTERSECT"))) {
        arms.emplace_back(start, k - 1);
        start = k + 1;
        if (kw(start, "ALL") || kw(start, "DISTINCT")) ++start;
      }
    }
    if (arms.empty() && !is(a, TokenKind::LParen)) return select(a, b, parent, star_ok);
    arms.emplace_back(start, b);
    for (size_t n = 0; n < arms.size() && !failed(); ++n) {
      auto [f, l] = arms[n];
      const bool last = n + 1 == arms.size();
      int tail = l + 1;  // where the compound's own ORDER BY / LIMIT starts
      if (is(f, TokenKind::LParen)) {
        int e = close(f);
        if (e < 0 || e > l) return fail("unterminated parenthesised SELECT");
        if (!kw(f + 1, "SELECT") && !is(f + 1, TokenKind::LParen)) return fail("unrecognised parenthesised query");
        query(f + 1, e - 1, parent, star_ok);
        if (e < l && !last) return fail("unrecognised tokens after a parenthesised SELECT");
        tail = e + 1;
      } else {
        if (!kw(f, "SELECT")) return fail("unrecognised arm of a compound SELECT");
        if (last) tail = compound_tail(f, l);
        select(f, tail - 1, parent, star_ok);
      }
      for (int k = tail; k <= l && !failed(); ++k) {
        if (kw(k, "SELECT")) return fail("a subquery in the ORDER BY or LIMIT of a compound SELECT");
        if (kw(k, "INTO")) return fail("SELECT ... INTO is not switched");
        if (is(k, TokenKind::Opaque)) return fail("executable comment /*! */");
      }
    }
  }

  // The first depth-0 ORDER BY or LIMIT in f..l (the compound's), or l + 1.
  int compound_tail(int f, int l) const {
    int depth = 0;
    for (int k = f; k <= l; ++k) {
      if (is(k, TokenKind::LParen)) ++depth;
      else if (is(k, TokenKind::RParen)) --depth;
      else if (depth == 0 && ((kw(k, "ORDER") && kw(k + 1, "BY")) || kw(k, "LIMIT"))) return k;
    }
    return l + 1;
  }

  // WITH [RECURSIVE] name [(columns)] AS (query) [, ...] followed by a query.
  // A CTE is a table of unknown columns to the queries that name it; one
  // named like a migrated table would hide it, which is not followed.
  void with(int i) {
    if (kw(i, "RECURSIVE")) ++i;
    while (!failed()) {
      if (!is_ident(i)) return fail("unreadable WITH clause");
      std::string name = ident(i++);
      for (const auto* m : relevant_)
        if (iequals(m->cfg->table, name)) return fail("a CTE named like the migrated table " + m->cfg->table, m);
      ctes_.push_back(name);
      if (is(i, TokenKind::LParen)) {
        int c = close(i);
        if (c < 0) return fail("unreadable WITH clause");
        i = c + 1;
      }
      if (!kw(i, "AS") || !is(i + 1, TokenKind::LParen)) return fail("unreadable WITH clause");
      int e = close(i + 1);
      if (e < 0 || !(kw(i + 2, "SELECT") || is(i + 2, TokenKind::LParen)))
        return fail("unrecognised common table expression");
      query(i + 2, e - 1, nullptr, false);
      i = e + 1;
      if (!is(i, TokenKind::Comma)) break;
      ++i;
    }
    if (failed()) return;
    if (!kw(i, "SELECT") && !is(i, TokenKind::LParen)) return fail("WITH before a statement that is not a SELECT");
    query(i, last_, nullptr, false);
  }

  // Tokens a..b hold one SELECT (a is the keyword). `parent` is the scope of
  // the query it is a subquery of; `star_ok`: its select list is not read
  // (EXISTS), so `*` reads nothing.
  void select(int a, int b, const Scope* parent, bool star_ok) {
    // The clauses, at depth 0, in the order the grammar fixes.
    enum { From, Where, Group, Having, Order, Limit, Lock, kClauses };
    int at[kClauses];
    std::fill(std::begin(at), std::end(at), -1);
    int depth = 0, seen = -1;
    auto mark = [&](int clause, int k) {
      if (clause <= seen) return fail("clauses of a SELECT in an order not recognised");
      seen = clause;
      at[clause] = k;
    };
    for (int k = a + 1; k <= b && !failed(); ++k) {
      auto kind = t_[k].kind;
      if (kind == TokenKind::LParen) ++depth;
      else if (kind == TokenKind::RParen) --depth;
      if (depth != 0 || kind != TokenKind::Word) continue;
      if (kw(k, "FROM")) mark(From, k);
      else if (kw(k, "WHERE")) mark(Where, k);
      else if (kw(k, "GROUP") && kw(k + 1, "BY")) mark(Group, k);
      else if (kw(k, "HAVING")) mark(Having, k);
      else if (kw(k, "ORDER") && kw(k + 1, "BY")) mark(Order, k);
      else if (kw(k, "LIMIT")) mark(Limit, k);
      else if ((kw(k, "FOR") && (kw(k + 1, "UPDATE") || kw(k + 1, "SHARE"))) || (kw(k, "LOCK") && kw(k + 1, "IN")))
        mark(Lock, k);
      else if (kw(k, "UNION") || kw(k, "EXCEPT") || kw(k, "INTERSECT"))
        fail(std::string(text(k)) + " is not switched yet");
      else if (kw(k, "INTO")) fail("SELECT ... INTO is not switched");
      else if (kw(k, "WINDOW")) fail("a WINDOW clause is not switched yet");
      else if (kw(k, "PROCEDURE") || kw(k, "FETCH") || (kw(k, "OFFSET") && at[Limit] < 0))
        fail(std::string(text(k)) + " in a SELECT is not switched");
    }
    if (failed()) return;
    auto end_of = [&](int clause) {
      for (int c = clause + 1; c < kClauses; ++c)
        if (at[c] >= 0) return at[c] - 1;
      return b;
    };
    Scope s;
    s.parent = parent;
    if (at[From] >= 0) from(at[From] + 1, end_of(From), s);
    if (at[Group] >= 0 && !failed() && !kw(end_of(Group), "ROLLUP"))
      for (auto [f, l] : split(at[Group] + 2, end_of(Group))) {
        if (kw(l, "ASC") || kw(l, "DESC")) --l;
        if (chain_end(f) != l || is(l + 1, TokenKind::LParen) || !relevant_name(ident(l))) continue;
        Ref r = resolve(s, chain(f, l), Clause::GroupBy);
        if (r.factor && r.factor >= s.factors.data() && r.factor < s.factors.data() + s.factors.size())
          s.grouped.push_back(r);
      }
    int list = a + 1;
    while (is(list, TokenKind::Word) && select_modifier(text(list))) ++list;
    int list_end = b;
    for (int c = From; c < kClauses; ++c)
      if (at[c] >= 0) {
        list_end = at[c] - 1;
        break;
      }
    const bool top = a == top_;
    if (!failed()) select_list(list, list_end, s, star_ok, top);
    if (at[Where] >= 0 && !failed()) expr(at[Where] + 1, end_of(Where), s, Clause::Where);
    if (at[Group] >= 0 && !failed()) {
      int e = end_of(Group);
      if (kw(e, "ROLLUP") && kw(e - 1, "WITH")) e -= 2;
      by_list(at[Group] + 2, e, s, Clause::GroupBy);
    }
    if (at[Having] >= 0 && !failed()) expr(at[Having] + 1, end_of(Having), s, Clause::Having);
    if (at[Order] >= 0 && !failed()) by_list(at[Order] + 2, end_of(Order), s, Clause::OrderBy);
    if (at[Limit] >= 0 && !failed()) expr(at[Limit] + 1, end_of(Limit), s, Clause::Where);
    if (top && !failed()) {
      bool distinct = false;
      for (int k = a + 1; k < list; ++k) distinct = distinct || kw(k, "DISTINCT") || kw(k, "DISTINCTROW");
      describe_top(at[Group] >= 0 || at[Having] >= 0 || distinct, at[Lock] >= 0,
                   at[Order] >= 0 ? std::pair{at[Order] + 2, end_of(Order)} : std::pair{-1, -1},
                   at[Limit] >= 0 ? std::pair{at[Limit] + 1, end_of(Limit)} : std::pair{-1, -1});
    }
  }

  // The top-level SELECT's order and limit, for the comparator. Grouping and
  // DISTINCT merge rows by the value of their status outputs, and ordering
  // by one sorts by the legacy text: there legacy' answers like legacy only
  // where the map round-trips (compare_plan.h), so they count as read
  // "elsewhere". A locking read (FOR UPDATE) is not shadowed at all: the
  // shadow's snapshot is READ ONLY.
  void describe_top(bool merges, bool locks, std::pair<int, int> order, std::pair<int, int> limit) {
    top_walked_ = !locks;
    if (merges)
      for (const auto& so : shape_.status_outputs) add_unique(shape_.read_elsewhere, so.migration);
    if (limit.first >= 0) {
      shape_.limited = true;
      // LIMIT n | LIMIT offset, n | LIMIT n OFFSET m: the count.
      int count = is(limit.first + 1, TokenKind::Comma) ? limit.first + 2 : limit.first;
      if (count <= limit.second && is(count, TokenKind::Number)) {
        auto digits = text(count);
        if (digits.find_first_not_of("0123456789") == std::string_view::npos && digits.size() < 18)
          shape_.limit = std::stoll(std::string(digits));
      } else if (count <= limit.second && is(count, TokenKind::Param)) {
        int n = 0;
        for (int k = first_; k <= count; ++k) n += is(k, TokenKind::Param);
        shape_.limit_param = n;
      }
    }
    if (order.first < 0) return;
    shape_.ordered = true;
    for (auto [f, l] : split(order.first, order.second)) {
      if (kw(l, "ASC") || kw(l, "DESC")) --l;
      auto pos = output_position(f, l);
      if (!pos) {
        shape_.order_keys.clear();  // an order the comparator cannot see: compared without it
        return;
      }
      shape_.order_keys.push_back(*pos);
      for (const auto& so : shape_.status_outputs)
        if (so.position == *pos) add_unique(shape_.read_elsewhere, so.migration);
    }
  }

  // Which output column of the top SELECT an ORDER BY item f..l is: a
  // position, an output name (which MySQL prefers there), or the very column
  // reference a select-list entry holds.
  std::optional<size_t> output_position(int f, int l) const {
    if (!top_positions_) return std::nullopt;
    if (f == l && is(f, TokenKind::Number)) {
      auto digits = text(f);
      if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
      size_t k = std::stoul(std::string(digits));
      if (k >= 1 && k <= top_outputs_.size()) return k - 1;
      return std::nullopt;
    }
    if (chain_end(f) != l) return std::nullopt;
    if (f == l)
      for (size_t k = 0; k < top_outputs_.size(); ++k)
        if (iequals(top_outputs_[k].name, ident(f))) return k;
    auto want = chain(f, l);
    for (size_t k = 0; k < top_outputs_.size(); ++k)
      if (top_outputs_[k].reference == want) return k;
    return std::nullopt;
  }

  // Items of a comma list at depth 0 within a..b, as token spans.
  std::vector<std::pair<int, int>> split(int a, int b) const {
    std::vector<std::pair<int, int>> items;
    int depth = 0, start = a;
    for (int k = a; k <= b; ++k) {
      auto kind = t_[k].kind;
      if (kind == TokenKind::LParen) ++depth;
      else if (kind == TokenKind::RParen) --depth;
      else if (kind == TokenKind::Comma && depth == 0) {
        items.emplace_back(start, k - 1);
        start = k + 1;
      }
    }
    if (start <= b) items.emplace_back(start, b);
    return items;
  }

  // The last token of `ident(.ident){0,2}` starting at i, or -1.
  int chain_end(int i, int max_parts = 3) const {
    if (!is_ident(i)) return -1;
    int j = i, parts = 1;
    while (parts < max_parts && is(j + 1, TokenKind::Dot) && is_ident(j + 2)) {
      j += 2;
      ++parts;
    }
    return j;
  }
  std::vector<std::string> chain(int i, int j) const {
    std::vector<std::string> parts;
    for (int k = i; k <= j; k += 2) parts.push_back(ident(k));
    return parts;
  }

  void select_list(int a, int b, Scope& s, bool star_ok, bool top = false) {
    if (a > b) return fail("empty select list");
    for (auto [f, l] : split(a, b)) {
      if (failed()) return;
      if (f > l) return fail("empty select-list item");
      // `*` and `t.*`: the columns they expand to are not known here, nor
      // the output positions after them.
      if (top && is_star(l)) top_positions_ = false;
      if (f == l && is_star(f)) {
        if (star_ok) continue;
        for (const auto& fac : s.factors)
          if (!fac.migrations.empty()) return fail("SELECT * over a migrated table", fac.migrations.front());
        continue;
      }
      if (is_star(l) && is(l - 1, TokenKind::Dot)) {
        if (star_ok) continue;
        if (chain_end(f) != l - 2) return fail("unrecognised select-list item");
        auto parts = chain(f, l - 2);
        parts.emplace_back("*");
        if (const Factor* fac = qualified_factor(s, parts)) {
          if (!fac->migrations.empty()) return fail("t.* over a migrated table", fac->migrations.front());
        }
        continue;
      }
      int e = l, alias = -1;
      if (l - f >= 2 && kw(l - 1, "AS")) {
        alias = l;
        e = l - 2;
      } else if (l > f && (is_ident(l) || is(l, TokenKind::String)) && !(is(l, TokenKind::Word) && expects_operand(text(l))) &&
                 ends_operand(l - 1)) {
        alias = l;
        e = l - 1;
      }
      Item item;
      if (alias >= 0) item.name = is(alias, TokenKind::String) ? unquote_mysql_string(text(alias)) : ident(alias);
      const int ce = chain_end(f);
      if (ce == e && !is(e + 1, TokenKind::LParen) && !variable(f)) {
        // A bare column reference: `CASE ... END AS <its name>` keeps the output name.
        if (item.name.empty()) item.name = ident(e);
        if (top && top_positions_) top_outputs_.push_back({item.name, chain(f, e)});
        if (relevant_name(ident(e))) {
          Ref r = resolve(s, chain(f, e), Clause::Select);
          if (r.factor) {
            // A bare legacy column of the top select list is a status output
            // the comparator maps; its position is known up to the first `*`.
            if (top && top_positions_) projecting_ = static_cast<int>(top_outputs_.size() - 1);
            switch_ref(f, e, r, s.groups_by(r));
            projecting_ = -1;
            if (alias < 0) out.edits.push_back({t_[e].end, 0, " AS " + std::string(text(e))});
            item.factor = r.factor;
            item.migration = r.migration;
          }
        }
      } else {
        size_t before = out.edits.size();
        expr(f, e, s, Clause::Select);
        auto spelled = sql_.substr(t_[f].begin, t_[e].end - t_[f].begin);
        // The server names an unaliased expression after its text as written.
        if (out.edits.size() > before && alias < 0)
          out.edits.push_back({t_[e].end, 0, " AS " + quote_mysql_ident(spelled)});
        if (item.name.empty()) item.name = std::string(spelled);
        if (top && top_positions_) top_outputs_.push_back({item.name, {}});
      }
      s.items.push_back(std::move(item));
    }
  }

  bool ends_operand(int k) const {
    if (!in(k)) return false;
    switch (t_[k].kind) {
      case TokenKind::Word: return !expects_operand(text(k)) || kw(k, "NULL") || kw(k, "TRUE") || kw(k, "FALSE") || kw(k, "END");
      case TokenKind::QuotedIdent:
      case TokenKind::String:
      case TokenKind::Number:
      case TokenKind::Param:
      case TokenKind::RParen: return true;
      default: return false;
    }
  }

  // GROUP BY and ORDER BY items, each with an optional ASC/DESC.
  void by_list(int a, int b, const Scope& s, Clause c) {
    for (auto [f, l] : split(a, b)) {
      if (failed()) return;
      if (kw(l, "ASC") || kw(l, "DESC")) --l;
      if (f > l) return fail("empty GROUP BY or ORDER BY item");
      expr(f, l, s, c, /*bare_item=*/chain_end(f, 1) == l);
    }
  }

  // ---- FROM ----------------------------------------------------------------
  bool join_keyword(int k) const {
    if (kw(k, "LEFT") || kw(k, "RIGHT")) return !is(k + 1, TokenKind::LParen);
    return kw(k, "JOIN") || kw(k, "INNER") || kw(k, "CROSS") || kw(k, "STRAIGHT_JOIN") || kw(k, "NATURAL");
  }

  void from(int a, int b, Scope& s) {
    if (kw(a, "DUAL") && a == b) return;
    size_t group = 0;  // the factors after the last comma: what an ON can see
    int i = a;
    bool first = true;
    while (!failed()) {
      bool natural = false, joined = false;
      if (!first) {
        if (is(i, TokenKind::Comma)) {
          ++i;
          group = s.factors.size();
        } else if (join_keyword(i)) {
          joined = true;
          if (kw(i, "NATURAL")) {
            natural = true;
            ++i;
          }
          if (kw(i, "LEFT") || kw(i, "RIGHT")) {
            ++i;
            if (kw(i, "OUTER")) ++i;
          } else if (kw(i, "INNER") || kw(i, "CROSS")) {
            ++i;
          }
          if (kw(i, "JOIN") || kw(i, "STRAIGHT_JOIN")) ++i;
          else return fail("unrecognised join");
        } else {
          return fail("unrecognised FROM clause");
        }
      }
      first = false;
      i = factor(i, b, s);
      if (failed()) return;
      if (natural)
        for (size_t k = group; k < s.factors.size(); ++k)
          if (!s.factors[k].migrations.empty())
            return fail("NATURAL join with a migrated table", s.factors[k].migrations.front());
      if (joined && kw(i, "ON")) {
        int e = i + 1, depth = 0;
        for (; e <= b; ++e) {
          if (is(e, TokenKind::LParen)) ++depth;
          else if (is(e, TokenKind::RParen)) --depth;
          else if (depth == 0 && (is(e, TokenKind::Comma) || join_keyword(e) || kw(e, "ON"))) break;
        }
        if (kw(e, "ON")) return fail("nested join without parentheses");
        s.visible_begin = group;
        s.visible_end = s.factors.size();
        expr(i + 1, e - 1, s, Clause::On);
        s.visible_begin = 0;
        s.visible_end = SIZE_MAX;
        i = e;
      } else if (joined && kw(i, "USING")) {
        int e = close(i + 1);
        if (!is(i + 1, TokenKind::LParen) || e < 0 || e > b) return fail("unreadable USING list");
        for (int k = i + 2; k < e; ++k)
          for (size_t q = group; q < s.factors.size() && is_ident(k); ++q)
            if (const auto* m = s.factors[q].legacy(ident(k))) return fail("USING (" + ident(k) + ") on a migrated table", m);
        i = e + 1;
      }
      if (i > b) return;
    }
  }

  // One table or derived table at i; returns the index after it.
  int factor(int i, int b, Scope& s) {
    Factor f;
    if (is(i, TokenKind::LParen)) {
      if (!kw(i + 1, "SELECT")) {
        fail("a parenthesised join or table expression in FROM is not switched yet");
        return i;
      }
      int e = close(i);
      if (e < 0 || e > b) {
        fail("unterminated derived table");
        return i;
      }
      // A derived table cannot see the tables beside it, only the outer query.
      query(i + 1, e - 1, s.parent, false);
      int k = e + 1;
      if (kw(k, "AS")) ++k;
      if (!is_ident(k)) {
        fail("derived table without an alias");
        return k;
      }
      f.alias = ident(k++);
      if (is(k, TokenKind::LParen)) {  // column names of the derived table
        int c = close(k);
        k = c < 0 ? b + 1 : c + 1;
      }
      f.qualifier = quote_mysql_ident(f.alias);
      s.factors.push_back(std::move(f));
      return k;
    }
    if (kw(i, "LATERAL") || !is_ident(i)) {
      fail("unrecognised table reference");
      return i;
    }
    int k = i;
    f.table = ident(k++);
    if (is(k, TokenKind::Dot) && is_ident(k + 1)) {
      f.db = f.table;
      f.table = ident(k + 1);
      k += 2;
    }
    if (is(k, TokenKind::LParen)) {
      fail("a table function in FROM is not switched");
      return k;
    }
    if (kw(k, "PARTITION") && is(k + 1, TokenKind::LParen)) {
      int c = close(k + 1);
      k = c < 0 ? b + 1 : c + 1;
    }
    if (kw(k, "FOR") && kw(k + 1, "SYSTEM_TIME")) {
      fail("FOR SYSTEM_TIME is not switched");
      return k;
    }
    if (kw(k, "AS") && is_ident(k + 1)) {
      f.alias = ident(k + 1);
      k += 2;
    } else if (is_ident(k) && !(is(k, TokenKind::Word) && ends_table_factor(text(k)))) {
      f.alias = ident(k++);
    }
    // Index hints: USE|FORCE|IGNORE INDEX|KEY [FOR JOIN|ORDER BY|GROUP BY] (names)
    while ((kw(k, "USE") || kw(k, "FORCE") || kw(k, "IGNORE")) && (kw(k + 1, "INDEX") || kw(k + 1, "KEY"))) {
      k += 2;
      if (kw(k, "FOR")) k += kw(k + 1, "JOIN") ? 2 : 3;
      int c = is(k, TokenKind::LParen) ? close(k) : -1;
      if (c < 0) {
        fail("unreadable index hint");
        return k;
      }
      k = c + 1;
    }
    add_table(std::move(f), s);
    return k;
  }

  // A table (not derived) joins the scope, with its migrations.
  void add_table(Factor f, Scope& s) {
    const bool cte = f.db.empty() && std::find(ctes_.begin(), ctes_.end(), f.table) != ctes_.end();
    if (!cte) f.migrations = ms_.for_mysql_table(f.db, f.table);
    if (f.migrations.empty() && !cte)
      for (const auto* m : relevant_)
        if (iequals(m->cfg->table, f.table))
          fail("table " + f.table + " differs from migrated table " + m->cfg->table + " only in letter case", m);
    f.qualifier = !f.alias.empty() ? quote_mysql_ident(f.alias)
                  : f.db.empty()   ? quote_mysql_ident(f.table)
                                   : quote_mysql_ident(f.db) + "." + quote_mysql_ident(f.table);
    s.factors.push_back(std::move(f));
  }

  // ---- names ---------------------------------------------------------------
  // The factor `parts` (a qualified column: its last part is the column)
  // names, in the innermost scope that has it.
  const Factor* qualified_factor(const Scope& s, const std::vector<std::string>& parts) {
    if (parts.size() < 2) return nullptr;
    const std::string& q = parts[parts.size() - 2];
    const std::string* db = parts.size() == 3 ? &parts[0] : nullptr;
    for (const Scope* sc = &s; sc; sc = sc->parent)
      for (const auto& f : sc->factors) {
        const std::string& name = f.alias.empty() ? f.table : f.alias;
        bool db_ok = !db || (f.alias.empty() && (f.db.empty() || f.db == *db));
        if (name == q && db_ok) return &f;
        if (iequals(name, q) && db_ok && !f.migrations.empty()) {
          fail("qualifier " + q + " matches " + name + " only up to letter case", f.migrations.front());
          return nullptr;
        }
      }
    return nullptr;
  }

  // What `parts` (a column, optionally qualified) names, resolved as the
  // server would; a factor only when it is a migrated table's legacy column.
  Ref resolve(const Scope& s, const std::vector<std::string>& parts, Clause c) {
    const std::string& column = parts.back();
    if (parts.size() > 1) {
      const Factor* f = qualified_factor(s, parts);
      const CompiledMigration* m = f ? f->legacy(column) : nullptr;
      if (!m) return {};
      return {f, m};
    }
    for (const Scope* sc = &s; sc; sc = sc->parent) {
      std::vector<Ref> hits;
      bool any = false;
      for (size_t k = 0; k < sc->factors.size(); ++k) {
        if (!sc->visible(k)) continue;
        any = true;
        if (const auto* m = sc->factors[k].legacy(column)) hits.push_back({&sc->factors[k], m});
      }
      if (hits.size() == 1) return hits.front();
      if (hits.size() > 1) {
        fail("column " + column + " is ambiguous", hits.front().migration);
        return {};
      }
      if (any) {
        // The name belongs to a table here whose columns are not known, or is
        // an error: unless no migrated table further out has the column.
        for (const Scope* o = sc; o; o = o->parent)
          for (const auto& f : o->factors)
            if (const auto* m = f.legacy(column)) {
              fail("cannot tell whether " + column + " names the legacy column (a table of unknown columns is nearer)", m);
              return {};
            }
        return {};
      }
      if (sc->parent && sc->parent->item(column)) {
        fail("cannot tell whether " + column + " in a subquery names an outer select-list alias");
        return {};
      }
    }
    (void)c;
    return {};
  }

  bool variable(int i) const {
    // @name and @@name: the lexer gives '@' as an operator glued to the word.
    return is(i - 1, TokenKind::Operator) && text(i - 1).back() == '@' && t_[i - 1].end == t_[i].begin;
  }

  // The reference at tokens first..last becomes legacy'. The unified column
  // is qualified (a nearer table may have a column of that name); the ELSE
  // keeps the reference as written, so it still means what it meant, and a
  // name the server finds ambiguous still fails as it did (1052).
  void switch_ref(int first, int last, const Ref& r, bool min = false) {
    const auto& m = *r.migration;
    auto unified = r.factor->qualifier + "." + quote_mysql_ident(m.cfg->unified_column);
    auto legacy = sql_.substr(t_[first].begin, t_[last].end - t_[first].begin);
    auto view = m.reverse.legacy_view(unified, legacy, quote_mysql_literal);
    if (min) view = "MIN(" + view + ")";
    out.edits.push_back({t_[first].begin, t_[last].end - t_[first].begin, std::move(view)});
    if (projecting_ >= 0) shape_.status_outputs.push_back({static_cast<size_t>(projecting_), m.cfg->name});
    else add_unique(shape_.read_elsewhere, m.cfg->name);
    if (std::find(out.switched.begin(), out.switched.end(), &m) == out.switched.end()) out.switched.push_back(&m);
  }

  // ---- expressions ---------------------------------------------------------
  // Every column reference in tokens a..b that means a legacy column becomes
  // its reverse view; subqueries get their own scope. `bare_item`: a..b is
  // a GROUP BY or ORDER BY item that is a single name.
  void expr(int a, int b, const Scope& s, Clause c, bool bare_item = false) {
    int aggregate_end = -1;  // the `)` of the aggregate call being read, if any
    for (int i = a; i <= b && !failed(); ++i) {
      switch (t_[i].kind) {
        case TokenKind::Opaque: return fail("executable comment /*! */");
        case TokenKind::String:
          if (double_quoted(i) && (relevant_name(unquote_mysql_string(text(i))) || is(i + 1, TokenKind::Dot) ||
                                   is(i - 1, TokenKind::Dot)))
            return fail("double-quoted name (an identifier under ANSI_QUOTES)");
          continue;
        case TokenKind::LParen:
          if (kw(i + 1, "SELECT")) {
            int e = close(i);
            if (e < 0 || e > b) return fail("unterminated subquery");
            query(i + 1, e - 1, &s, kw(i - 1, "EXISTS"));
            i = e;
          } else if (kw(i + 1, "WITH")) {
            return fail("WITH in a subquery is not switched yet");
          }
          continue;
        case TokenKind::Operator:
          if (is_star(i) && is(i - 1, TokenKind::Dot)) return fail("t.* inside an expression");
          continue;
        case TokenKind::Word:
        case TokenKind::QuotedIdent: break;
        default: continue;
      }
      if (kw(i, "SELECT") || kw(i, "UNION") || kw(i, "EXCEPT") || kw(i, "INTERSECT") || kw(i, "WITH"))
        return fail(std::string(text(i)) + " in an unrecognised position");
      if ((kw(i, "AS") || kw(i, "USING") || kw(i, "COLLATE")) && is(i + 1, TokenKind::Word)) {
        ++i;  // a type, character set or collation name
        continue;
      }
      int j = chain_end(i);
      if (j == i && is(i + 1, TokenKind::LParen) && aggregate_end < i && aggregate(text(i))) aggregate_end = close(i + 1);
      if (variable(i) || is(j + 1, TokenKind::LParen) || !relevant_name(ident(j))) {
        i = j;
        continue;
      }
      auto parts = chain(i, j);
      reference(parts, i, j, s, c, bare_item && i == a && j == b, i < aggregate_end);
      i = j;
    }
  }

  void reference(const std::vector<std::string>& parts, int i, int j, const Scope& s, Clause c, bool bare,
                 bool in_aggregate) {
    const std::string& column = parts.back();
    // Outside aggregates, a grouped legacy column is read as MIN(legacy') (see Scope::grouped).
    auto grouped = [&](const Ref& r) { return !in_aggregate && c != Clause::GroupBy && s.groups_by(r); };
    if (c == Clause::Having && !in_aggregate) {
      // HAVING sees the select list's output names and the grouped values,
      // not the row: MariaDB rejects the CASE there (1054). The name of a
      // switched bare select item already means legacy' (its alias wins).
      Ref r = resolve(s, parts, c);
      if (failed() || !r.factor) return;
      const Item* item = parts.size() == 1 ? s.item(column) : nullptr;
      if (item && item->factor == r.factor && item->migration == r.migration) return;
      if (grouped(r)) return switch_ref(i, j, r, true);
      return fail("HAVING reads " + column + " outside an aggregate, the select list and GROUP BY", r.migration);
    }
    if (parts.size() == 1 && (c == Clause::GroupBy || c == Clause::Having || c == Clause::OrderBy)) {
      // MySQL looks a name up among the select list's output names here too:
      // ORDER BY prefers them, GROUP BY and HAVING prefer the table's column.
      if (const Item* item = s.item(column)) {
        if (c == Clause::OrderBy && bare) return;  // the output column itself: already switched
        Ref r = resolve(s, parts, c);
        if (failed() || !r.factor) return;
        if (!(item->factor && item->factor == r.factor && item->migration == r.migration))
          return fail(column + " is both a select-list name and the legacy column", r.migration);
        switch_ref(i, j, r, grouped(r));
        return;
      }
    }
    Ref r = resolve(s, parts, c);
    if (failed() || !r.factor || !r.migration) return;
    if (c == Clause::InsertRow) return fail("an inserted row reads the legacy column " + column, r.migration);
    switch_ref(i, j, r, grouped(r));
  }

  // ---- writes (cleanup) ----------------------------------------------------
  // A single-table write's target, as a one-factor scope; -1 if not one table.
  int target(int i, Scope& s) {
    int k = factor(i, last_, s);
    if (failed()) return -1;
    return k;
  }

  // `col = expr, ...` from i: the targets are left to the write rewrite, the
  // right-hand sides read. Returns the index after the list.
  int assignments(int i, const Scope& s, Clause c, std::initializer_list<std::string_view> stops) {
    int end = last_, depth = 0;
    for (int k = i; k <= last_; ++k) {
      if (is(k, TokenKind::LParen)) ++depth;
      else if (is(k, TokenKind::RParen)) --depth;
      else if (depth == 0 && is(k, TokenKind::Word)) {
        bool stop = false;
        for (auto w : stops) stop = stop || iequals(text(k), w);
        if (stop) {
          end = k - 1;
          break;
        }
      }
    }
    for (auto [f, l] : split(i, end)) {
      if (failed()) break;
      int ce = chain_end(f);
      int op = ce + 1;
      if (ce < 0 || !is(op, TokenKind::Operator) || (text(op) != "=" && text(op) != ":=")) {
        fail("unreadable assignment");
        break;
      }
      expr(op + 1, l, s, c);
    }
    return end + 1;
  }

  // The rest of an UPDATE or DELETE after its target (and SET list): WHERE,
  // ORDER BY, LIMIT; RETURNING (DELETE) is a select list.
  void tail(int i, Scope& s) {
    while (i <= last_ && !failed()) {
      auto stop_at = [&](int from) {
        int depth = 0;
        for (int k = from; k <= last_; ++k) {
          if (is(k, TokenKind::LParen)) ++depth;
          else if (is(k, TokenKind::RParen)) --depth;
          else if (depth == 0 && ((kw(k, "ORDER") && kw(k + 1, "BY")) || kw(k, "LIMIT") || kw(k, "RETURNING")))
            return k - 1;
        }
        return last_;
      };
      if (kw(i, "WHERE")) {
        int e = stop_at(i + 1);
        expr(i + 1, e, s, Clause::Where);
        i = e + 1;
      } else if (kw(i, "ORDER") && kw(i + 1, "BY")) {
        int e = stop_at(i + 2);
        by_list(i + 2, e, s, Clause::Where);
        i = e + 1;
      } else if (kw(i, "LIMIT")) {
        int e = stop_at(i + 1);
        expr(i + 1, e, s, Clause::Where);
        i = e + 1;
      } else if (kw(i, "RETURNING")) {
        select_list(i + 1, last_, s, false);
        return;
      } else {
        return fail("unrecognised clause in a write");
      }
    }
  }

  void update(int i) {
    while (kw(i, "LOW_PRIORITY") || kw(i, "IGNORE")) ++i;
    Scope s;
    int k = target(i, s);
    if (failed()) return;
    if (!kw(k, "SET")) return fail("multi-table UPDATE is not switched");
    k = assignments(k + 1, s, Clause::Set, {"WHERE", "ORDER", "LIMIT"});
    tail(k, s);
  }

  void delete_(int i) {
    while (kw(i, "LOW_PRIORITY") || kw(i, "QUICK") || kw(i, "IGNORE")) ++i;
    if (!kw(i, "FROM")) return fail("multi-table DELETE is not switched");
    Scope s;
    int k = target(i + 1, s);
    if (failed()) return;
    if (is(k, TokenKind::Comma) || kw(k, "USING") || join_keyword(k)) return fail("multi-table DELETE is not switched");
    tail(k, s);
  }

  void insert(int i) {
    while (kw(i, "LOW_PRIORITY") || kw(i, "DELAYED") || kw(i, "HIGH_PRIORITY") || kw(i, "IGNORE")) ++i;
    if (kw(i, "INTO")) ++i;
    Scope s;
    Factor f;
    int k = i;
    if (!is_ident(k)) return fail("unrecognised INSERT target");
    f.table = ident(k++);
    if (is(k, TokenKind::Dot) && is_ident(k + 1)) {
      f.db = f.table;
      f.table = ident(k + 1);
      k += 2;
    }
    add_table(std::move(f), s);
    if (kw(k, "PARTITION")) return fail("INSERT with PARTITION is not switched");
    if (is(k, TokenKind::LParen)) {  // the column list: targets
      int c = close(k);
      if (c < 0) return fail("unreadable INSERT column list");
      k = c + 1;
    }
    // ON DUPLICATE KEY UPDATE and RETURNING end the row source.
    int odku = -1, returning = -1, depth = 0;
    for (int q = k; q <= last_; ++q) {
      if (is(q, TokenKind::LParen)) ++depth;
      else if (is(q, TokenKind::RParen)) --depth;
      else if (depth == 0 && kw(q, "ON") && kw(q + 1, "DUPLICATE") && odku < 0) odku = q;
      else if (depth == 0 && kw(q, "RETURNING") && returning < 0) returning = q;
    }
    int source_end = odku >= 0 ? odku - 1 : returning >= 0 ? returning - 1 : last_;
    if (kw(k, "SELECT")) {
      select(k, source_end, nullptr, false);
    } else if (kw(k, "VALUES") || kw(k, "VALUE")) {
      expr(k + 1, source_end, s, Clause::InsertRow);
    } else if (kw(k, "SET")) {
      assignments(k + 1, s, Clause::InsertRow, {"ON", "RETURNING"});
    } else {
      return fail("unrecognised INSERT form");
    }
    // ON DUPLICATE KEY UPDATE sees the existing row, the inserted one and
    // (INSERT ... SELECT) the select's tables: any legacy name read there,
    // VALUES(col) included, is more than this recogniser resolves.
    if (odku >= 0 && !failed()) {
      int e = returning > odku ? returning - 1 : last_;
      for (auto [f, l] : split(odku + 4, e)) {
        int ce = chain_end(f);
        int q = ce >= 0 && is(ce + 1, TokenKind::Operator) && (text(ce + 1) == "=" || text(ce + 1) == ":=") ? ce + 2 : f;
        for (; q <= l; ++q)
          if (is_ident(q) && relevant_name(ident(q))) return fail("ON DUPLICATE KEY UPDATE reads the legacy column");
      }
    }
    for (int q = returning; q >= 0 && q <= last_ && !failed(); ++q)
      if (is_ident(q) && relevant_name(ident(q))) return fail("RETURNING reads the legacy column");
  }

  std::string_view sql_;
  const std::vector<Token>& t_;
  const MigrationSet& ms_;
  int first_, last_;
  std::vector<const CompiledMigration*> relevant_;  // migrations on tables the statement names
  std::vector<std::string> ctes_;                   // names the statement's WITH defines
  // For the shadow comparator (ReadShape): the first token of the
  // statement's own SELECT (-1: it is not one SELECT), its output columns
  // while they are known (no `*` before them), and the select-list position
  // being switched (-1: none).
  struct Output {
    std::string name;                    // the output name
    std::vector<std::string> reference;  // the column reference it is, if a bare one
  };
  int top_ = -1;
  bool top_walked_ = false;
  bool top_positions_ = true;
  std::vector<Output> top_outputs_;
  int projecting_ = -1;
  ReadShape shape_;
};

}  // namespace

ReadSwitchResult ReadSwitch::read(int first, int last) const {
  Walker w(sql_, toks_, migrations_, first, last);
  w.read();
  auto shape = w.shape();
  ReadSwitchResult r = std::move(w.out);
  if (r.unsupported.empty() && !r.edits.empty()) r.shape = std::move(shape);
  return r;
}

ReadSwitchResult ReadSwitch::write(int first, int last) const {
  Walker w(sql_, toks_, migrations_, first, last);
  w.write();
  return std::move(w.out);
}

bool ReadSwitch::is_write(int first) const {
  if (first >= static_cast<int>(toks_.size())) return false;
  for (std::string_view k : {"UPDATE", "DELETE", "INSERT", "REPLACE", "LOAD"})
    if (is_keyword(sql_, toks_[first], k)) return true;
  if (!is_keyword(sql_, toks_[first], "WITH")) return false;
  // WITH ... followed by a write keyword at depth 0
  int depth = 0;
  for (size_t i = first + 1; i < toks_.size() && toks_[i].kind != TokenKind::Semicolon; ++i) {
    if (toks_[i].kind == TokenKind::LParen) ++depth;
    else if (toks_[i].kind == TokenKind::RParen) --depth;
    else if (depth == 0)
      for (std::string_view k : {"UPDATE", "DELETE", "INSERT", "REPLACE"})
        if (is_keyword(sql_, toks_[i], k)) return true;
  }
  return false;
}

}  // namespace sy::rewrite::mysql
