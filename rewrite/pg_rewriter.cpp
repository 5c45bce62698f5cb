#include "rewrite/pg_rewriter.h"

#include <algorithm>
#include <optional>
#include <set>

#include "rewrite/common/case_expression.h"
#include "rewrite/common/entity_column.h"
#include "rewrite/common/event_builder.h"
#include "rewrite/common/unseen_sql.h"
#include "rewrite/common/value.h"
#include "rewrite/common/values_rows.h"
#include "rewrite/pg/read_switch.h"
#include "rewrite/pg_parse.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/sql_text.h"
#include "rewrite/statement_outcome.h"
#include "rewrite/text_edits.h"

namespace sy::rewrite {

using config::Phase;
using config::Unmapped;

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Rewritten: return "rewritten";
    case Outcome::Observed: return "observed";
    case Outcome::Unmapped: return "unmapped";
    case Outcome::Unsupported: return "unsupported";
    case Outcome::Rejected: return "rejected";
    case Outcome::ReadSwitched: return "read_switched";
    case Outcome::ReadUnsupported: return "read_unsupported";
  }
  return "unknown";
}

namespace {

// Highest $n in the text: the rewrite must never change the parameter count.
int max_param(std::string_view sql, const std::vector<Token>& toks) {
  int n = 0;
  for (const auto& t : toks)
    if (t.kind == TokenKind::Param) n = std::max(n, std::atoi(std::string(sql.substr(t.begin + 1, t.end - t.begin - 1)).c_str()));
  return n;
}

// Which existing row (if any) the unified column can be read from.
struct Target {
  std::string rel_sql;   // relation as an SQL reference, for typed-NULL anchors
  std::string row_ref;   // alias/name to qualify the existing row's columns; empty for INSERT rows
  std::string table;     // for logs
};

class Analyzer {
 public:
  Analyzer(std::string_view sql, const std::vector<Token>& toks, const MigrationSet& ms, const RewriteOptions& o)
      : sql_(sql), toks_(toks), ms_(ms), opts_(o), make_event_(sql, o.phase) {}

  std::vector<Edit> edits;
  std::vector<MigrationEvent> events;
  bool rejected = false;
  std::optional<ReadShape> shape;  //!< of the last switched SELECT

  void statement(const JsonValue& raw_stmt) {
    auto* stmt = member(raw_stmt, "stmt");
    if (!stmt) return;
    uint32_t begin = static_cast<uint32_t>(int_member(raw_stmt, "stmt_location", 0));
    int len = int_member(raw_stmt, "stmt_len", 0);
    uint32_t end = len > 0 ? begin + static_cast<uint32_t>(len) : static_cast<uint32_t>(sql_.size());
    limit_ = end;
    PendingStatement p;
    visit(*stmt, p);
    reads(*stmt, p);
    finish(p, begin, end);
  }

 private:
  // ---- reads (read_switch, cleanup) ------------------------------------------
  void reads(const JsonValue& stmt, PendingStatement& p) {
    auto r = switch_reads(stmt, sql_, toks_, limit_, ms_, opts_.phase);
    bool write = false;
    for (const char* t : {"UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt"}) write = write || node(stmt, t);
    if (!r.unsupported.empty()) {
      // A cleanup write that reads the legacy column would compute from its
      // stale value: the write itself is unsupported (and refused under
      // on_unsupported: reject). A read is forwarded and reported.
      if (write) return p.mark_unsupported("it reads the legacy column: " + r.unsupported, r.unsupported_migration);
      MigrationEvent ev;
      ev.outcome = Outcome::ReadUnsupported;
      ev.reason = r.unsupported;
      if (const auto* m = r.unsupported_migration) {
        ev.migration = m->cfg->name;
        ev.table = m->cfg->table;
      }
      p.events.push_back(std::move(ev));
      return;
    }
    for (const auto& e : r.edits)
      for (const auto& w : p.edits)
        if (overlap(e, w))
          return p.mark_unsupported("a value written reads the legacy column it replaces", by_name(r.events));
    if (r.shape && !r.events.empty()) shape = std::move(r.shape);
    for (auto& e : r.edits) p.edits.push_back(std::move(e));
    for (auto& ev : r.events) p.events.push_back(std::move(ev));
  }

  const CompiledMigration* by_name(const std::vector<MigrationEvent>& events) const {
    for (const auto& m : ms_.all())
      if (!events.empty() && m.cfg->name == events.front().migration) return &m;
    return nullptr;
  }

  static bool overlap(const Edit& a, const Edit& b) {
    auto inside = [](uint32_t x, const Edit& e) { return e.at < x && x < e.at + e.remove; };
    if (a.remove == 0 || b.remove == 0) return inside(a.at, b) || inside(b.at, a);
    return a.at < b.at + b.remove && b.at < a.at + a.remove;
  }

  // ---- statement dispatch ------------------------------------------------
  void visit(const JsonValue& wrapper, PendingStatement& p) {
    if (auto* u = node(wrapper, "UpdateStmt")) {
      with_clause(*u, p);
      update(*u, p);
    } else if (auto* i = node(wrapper, "InsertStmt")) {
      with_clause(*i, p);
      insert(*i, p);
    } else if (auto* s = node(wrapper, "SelectStmt")) {
      with_clause(*s, p);
    } else if (auto* d = node(wrapper, "DeleteStmt")) {
      with_clause(*d, p);
    } else if (auto* e = node(wrapper, "ExplainStmt")) {
      if (auto* q = member(*e, "query")) visit(*q, p);  // EXPLAIN ANALYZE executes the write
    } else if (auto* pr = node(wrapper, "PrepareStmt")) {
      if (auto* q = member(*pr, "query")) visit(*q, p);
    } else if (auto* m = node(wrapper, "MergeStmt")) {
      if (auto migs = migrations_for(member(*m, "relation")); !migs.empty())
        p.mark_unsupported("MERGE into a migrated table is not rewritten", migs.front());
    } else if (auto* c = node(wrapper, "CopyStmt")) {
      copy(*c, p);
    } else if (auto* d = node(wrapper, "DoStmt")) {
      do_block(*d, p);
    }
  }

  // A DO block's body is PL/pgSQL the rewrite does not look into (its
  // statements, and any dynamic SQL it EXECUTEs, reach the server unseen).
  // A body that may write a migrated table's legacy column is reported.
  void do_block(const JsonValue& d, PendingStatement& p) {
    auto* args = member(d, "args");
    if (!args || !args->IsArray()) return;
    for (const auto& a : args->GetArray()) {
      auto* def = node(a, "DefElem");
      auto* arg = def && str_member(*def, "defname") == "as" ? member(*def, "arg") : nullptr;
      auto* body = arg ? node(*arg, "String") : nullptr;
      if (!body) continue;
      if (const auto* m = may_write_in(ms_, str_member(*body, "sval")))
        return p.mark_unsupported("a DO block that may write " + m->cfg->table + "." + m->cfg->legacy_column +
                                      " (its body is not rewritten)",
                                  m);
    }
  }

  void with_clause(const JsonValue& stmt, PendingStatement& p) {
    auto* w = member(stmt, "withClause");
    auto* ctes = w ? member(*w, "ctes") : nullptr;
    if (!ctes || !ctes->IsArray()) return;
    for (const auto& c : ctes->GetArray())
      if (auto* cte = node(c, "CommonTableExpr"))
        if (auto* q = member(*cte, "ctequery")) visit(*q, p);
  }

  const JsonValue* range_var(const JsonValue* rel) {
    if (!rel) return nullptr;
    if (auto* rv = node(*rel, "RangeVar")) return rv;
    return rel;  // InsertStmt/UpdateStmt hold the RangeVar fields directly
  }

  std::vector<const CompiledMigration*> migrations_for(const JsonValue* rel) {
    auto* rv = range_var(rel);
    if (!rv) return {};
    return ms_.for_table(str_member(*rv, "schemaname"), str_member(*rv, "relname"));
  }

  Target target_of(const JsonValue& rv, bool existing_row) {
    Target t;
    auto schema = str_member(rv, "schemaname");
    auto rel = str_member(rv, "relname");
    t.rel_sql = schema.empty() ? quote_ident(rel) : quote_ident(schema) + "." + quote_ident(rel);
    t.table = schema.empty() ? std::string(rel) : std::string(schema) + "." + std::string(rel);
    if (existing_row) {
      auto* alias = member(rv, "alias");
      auto alias_name = alias ? str_member(*alias, "aliasname") : std::string_view();
      t.row_ref = quote_ident(alias_name.empty() ? rel : alias_name);
    }
    return t;
  }

  // ---- UPDATE and ON CONFLICT DO UPDATE ------------------------------------
  void update(const JsonValue& u, PendingStatement& p) {
    auto migs = migrations_for(member(u, "relation"));
    if (migs.empty()) return;
    auto target = target_of(*range_var(member(u, "relation")), true);
    set_list(member(u, "targetList"), migs, target, member(u, "whereClause"), {"FROM", "WHERE", "RETURNING"}, p);
  }

  // `where`: the UPDATE's WHERE clause, which may pin the entity; nullptr for ON CONFLICT.
  void set_list(const JsonValue* targets, const std::vector<const CompiledMigration*>& migs, const Target& target,
                const JsonValue* where, std::initializer_list<std::string_view> stops, PendingStatement& p,
                bool on_conflict = false) {
    if (!targets || !targets->IsArray()) return;
    for (const auto* m : migs) {
      const JsonValue* legacy = nullptr;
      bool explicit_unified = false;
      for (const auto& t : targets->GetArray()) {
        auto* rt = node(t, "ResTarget");
        if (!rt) continue;
        auto name = str_member(*rt, "name");
        if (name == m->cfg->unified_column) explicit_unified = true;
        if (name == m->cfg->legacy_column) legacy = rt;
        // UPDATE t SET (a, status) = (...): the first column carries the whole row.
        if (auto* val = member(*rt, "val"); val && node(*val, "MultiAssignRef") && name == m->cfg->legacy_column)
          return p.mark_unsupported("multi-column assignment to " + m->cfg->legacy_column, m);
      }
      if (!legacy || explicit_unified) continue;
      if (member(*legacy, "indirection")) return p.mark_unsupported("subscripted assignment to " + m->cfg->legacy_column, m);
      int col = token_at(static_cast<uint32_t>(int_member(*legacy, "location", -1)));
      if (col < 0 || col + 2 >= static_cast<int>(toks_.size()) || !is_op(toks_[col + 1], "="))
        return p.mark_unsupported("cannot locate the assignment to " + m->cfg->legacy_column, m);
      auto* val = member(*legacy, "val");
      if (!val) return p.mark_unsupported("assignment to " + m->cfg->legacy_column + " without a value", m);
      Value v = classify(*val, col + 2, stops);
      if (v.kind == Value::Kind::Default) return p.mark_unsupported("DEFAULT assigned to " + m->cfg->legacy_column, m);
      auto ev = make_event_(*m, target.table, v, entity_id(where, *m));
      if (opts_.phase != Phase::Cleanup && v.kind == Value::Kind::Expr && does_work(*val)) {
        evaluate_once(*m, col, v, target, ev, p);
        if (!p.unsupported.empty()) return;
        continue;
      }
      std::string unified;
      if (on_conflict && opts_.phase == Phase::Cleanup && references_excluded(*val, m->cfg->legacy_column)) {
        // Cleanup stopped inserting the legacy column, so EXCLUDED.<legacy> is
        // no longer the proposed value; the proposed unified value is.
        if (!is_excluded_ref(*val, m->cfg->legacy_column))
          return p.mark_unsupported("ON CONFLICT expression over EXCLUDED." + m->cfg->legacy_column + " in cleanup", m);
        unified = "EXCLUDED." + quote_ident(m->cfg->unified_column);
        ev.unified = unified;
      } else {
        unified = unified_value(*m, v, target, ev, p);
      }
      if (!p.unsupported.empty()) return;
      p.events.push_back(ev);
      if (opts_.phase == Phase::Cleanup) {
        if (unified.empty()) unified = target.row_ref + "." + quote_ident(m->cfg->unified_column);  // keep
        uint32_t from = toks_[col].begin;
        p.edits.push_back({from, v.end - from, quote_ident(m->cfg->unified_column) + " = " + unified});
      } else if (!unified.empty()) {
        p.edits.push_back({v.end, 0, ", " + quote_ident(m->cfg->unified_column) + " = " + unified});
      }
    }
  }

  // `SET status = next_status(id)` or `CASE WHEN random() < 0.5 ...`: copying
  // the expression into the unified CASE would run it twice, with side effects
  // twice and volatile values that differ between the columns. One sub-select
  // computes it once per row and both columns take that value:
  //   (status, unified) = (SELECT o.v, CASE o.v ... END FROM (SELECT <expr>) AS o(v))
  // The sub-select is correlated, so <expr> sees the row (and the UPDATE's
  // FROM items, or EXCLUDED) exactly as it did in the client's assignment,
  // and `o.v` is assigned with the same assignment coercion.
  void evaluate_once(const CompiledMigration& m, int col, const Value& v, const Target& target, MigrationEvent& ev,
                     PendingStatement& p) {
    static const std::string once = "\"switchyard_once\".\"v\"";
    std::string unified = unified_value(m, v, target, ev, p, &once);
    if (!p.unsupported.empty()) return;
    if (unified.empty()) unified = target.row_ref + "." + quote_ident(m.cfg->unified_column);  // keep
    p.events.push_back(ev);
    // Only insertions: the client's column, comments and expression stay
    // byte for byte where they were.
    p.edits.push_back({toks_[col].begin, 0, "("});
    p.edits.push_back({toks_[col].end, 0, ", " + quote_ident(m.cfg->unified_column) + ")"});
    p.edits.push_back({v.begin, 0, "(SELECT " + once + ", " + unified + " FROM (SELECT "});
    p.edits.push_back({v.end, 0, ") AS \"switchyard_once\"(\"v\"))"});
  }

  // Whether evaluating the expression may do work that must not be repeated:
  // a sub-query, or a call of anything but a few built-in string functions
  // that are immutable and without side effects (a user's function may be
  // volatile or write; nextval and random are). Column references, literals,
  // parameters, operators on them and casts are repeated freely.
  static bool does_work(const JsonValue& v) {
    if (v.IsArray()) {
      for (const auto& e : v.GetArray())
        if (does_work(e)) return true;
      return false;
    }
    if (!v.IsObject()) return false;
    for (const auto& m : v.GetObject()) {
      std::string_view key = m.name.GetString();
      if (key == "SubLink") return true;
      if (key == "FuncCall" && !repeatable_function(m.value)) return true;
      if (does_work(m.value)) return true;
    }
    return false;
  }

  static bool repeatable_function(const JsonValue& call) {
    static const std::set<std::string_view> kImmutable = {
        "upper", "lower", "initcap", "btrim", "ltrim", "rtrim", "trim", "replace", "substr", "substring",
        "left",  "right", "concat",  "concat_ws", "lpad", "rpad", "translate", "split_part"};
    auto* name = member(call, "funcname");
    if (!name || !name->IsArray() || name->Empty() || name->Size() > 2) return false;
    auto* schema = name->Size() == 2 ? node((*name)[0], "String") : nullptr;
    if (schema && str_member(*schema, "sval") != "pg_catalog") return false;
    auto* fn = node((*name)[name->Size() - 1], "String");
    if (!fn || !kImmutable.count(str_member(*fn, "sval"))) return false;
    // Aggregates and windows (`upper(x) OVER ()` cannot occur, but FILTER /
    // DISTINCT / ORDER BY mark an aggregate call): not a plain function.
    return !member(call, "over") && !member(call, "agg_filter") && !member(call, "agg_order");
  }

  // ---- INSERT ----------------------------------------------------------------
  void insert(const JsonValue& ins, PendingStatement& p) {
    auto* rel = member(ins, "relation");
    auto migs = migrations_for(rel);
    if (auto* oc = member(ins, "onConflictClause"))
      if (str_member(*oc, "action") == "ONCONFLICT_UPDATE" && !migs.empty())
        set_list(member(*oc, "targetList"), migs, target_of(*range_var(rel), true), nullptr, {"WHERE", "RETURNING"}, p,
                 /*on_conflict=*/true);
    if (migs.empty() || !p.unsupported.empty()) return;
    auto target = target_of(*range_var(rel), false);
    auto* cols = member(ins, "cols");
    auto* select = member(ins, "selectStmt");
    auto* sel = select ? node(*select, "SelectStmt") : nullptr;
    if (!sel) return mark_legacy_default(p, *migs.front(), "INSERT ... DEFAULT VALUES");
    if (!cols || !cols->IsArray())
      return p.mark_unsupported("INSERT without a column list into " + target.table, migs.front());
    for (const auto* m : migs) {
      int k = -1;
      bool explicit_unified = false;
      for (rapidjson::SizeType i = 0; i < cols->Size(); ++i) {
        auto* rt = node((*cols)[i], "ResTarget");
        if (!rt) continue;
        auto name = str_member(*rt, "name");
        if (name == m->cfg->unified_column) explicit_unified = true;
        if (name == m->cfg->legacy_column) {
          if (member(*rt, "indirection")) return p.mark_unsupported("subscripted insert into " + m->cfg->legacy_column, m);
          k = static_cast<int>(i);
        }
      }
      if (explicit_unified) continue;
      if (k < 0) return mark_legacy_default(p, *m, "an INSERT whose column list");
      int col_tok = token_at(static_cast<uint32_t>(int_member(*node((*cols)[k], "ResTarget"), "location", -1)));
      if (col_tok < 0) return p.mark_unsupported("cannot locate column " + m->cfg->legacy_column, m);
      if (auto* rows = member(*sel, "valuesLists"))
        insert_values(*m, *rows, col_tok, static_cast<size_t>(k), cols->Size(), target, p);
      else
        insert_select(*m, *sel, col_tok, static_cast<size_t>(k), cols->Size(), target, p);
      if (!p.unsupported.empty()) return;
    }
  }

  InsertColumn insert_column(const CompiledMigration& m, int col_tok, size_t k, size_t ncols, const Target& target) {
    return {.m = &m, .table = target.table, .legacy = toks_[col_tok], .quoted_unified = quote_ident(m.cfg->unified_column),
            .index = k, .width = ncols};
  }

  void insert_values(const CompiledMigration& m, const JsonValue& rows, int col_tok, size_t k, size_t ncols,
                     const Target& target, PendingStatement& p) {
    // Find the VALUES rows in the text: '(' item, item ... ')' at depth 0.
    int i = col_tok;
    while (i < static_cast<int>(toks_.size()) && toks_[i].begin < limit_ && !is_keyword(sql_, toks_[i], "VALUES")) ++i;
    if (i >= static_cast<int>(toks_.size()) || toks_[i].begin >= limit_)
      return p.mark_unsupported("cannot locate VALUES", &m);
    ++i;
    auto split = split_rows(toks_, i, static_cast<int>(toks_.size()) - 1);
    if (!split) return p.mark_unsupported("unterminated VALUES row", &m);
    if (!rows.IsArray() || split->size() != rows.Size()) return p.mark_unsupported("VALUES rows do not match the parse tree", &m);
    ValuesRowHooks hooks;
    hooks.classify = [&](size_t r, int first, int last) -> std::optional<Value> {
      auto* list = node(rows[static_cast<rapidjson::SizeType>(r)], "List");
      auto* row_items = list ? member(*list, "items") : nullptr;
      if (!row_items || !row_items->IsArray() || row_items->Size() != ncols) {
        p.mark_unsupported("VALUES row width does not match the column list", &m);
        return std::nullopt;
      }
      const auto& item = (*row_items)[static_cast<rapidjson::SizeType>(k)];
      Value v = classify_span(item, first, last);
      if (opts_.phase != Phase::Cleanup && v.kind == Value::Kind::Expr && does_work(item)) {
        p.mark_unsupported("VALUES whose " + m.cfg->legacy_column +
                               " value calls a function or sub-query (the copy would run it twice)",
                           &m);
        return std::nullopt;
      }
      return v;
    };
    hooks.unified = [&](const Value& v, MigrationEvent& ev) { return unified_value(m, v, target, ev, p); };
    map_values_rows(insert_column(m, col_tok, k, ncols, target), *split, make_event_, hooks,
                    opts_.phase == Phase::Cleanup, p);
  }

  void insert_select(const CompiledMigration& m, const JsonValue& sel, int col_tok, size_t k, size_t ncols,
                     const Target& target, PendingStatement& p) {
    if (str_member(sel, "op") != "SETOP_NONE" && !str_member(sel, "op").empty())
      return p.mark_unsupported("INSERT ... SELECT with a set operation", &m);
    auto* targets = member(sel, "targetList");
    if (!targets || !targets->IsArray() || targets->Size() != ncols)
      return p.mark_unsupported("INSERT ... SELECT whose select list does not match the column list", &m);
    auto* rt = node((*targets)[static_cast<rapidjson::SizeType>(k)], "ResTarget");
    auto* val = rt ? member(*rt, "val") : nullptr;
    if (!val) return p.mark_unsupported("INSERT ... SELECT with an unreadable select list", &m);
    if (auto* cr = node(*val, "ColumnRef"); cr && json_contains(*cr, "A_Star"))
      return p.mark_unsupported("INSERT ... SELECT *", &m);
    int start = token_at(static_cast<uint32_t>(int_member(*rt, "location", -1)));
    if (start < 0) return p.mark_unsupported("cannot locate the selected value", &m);
    static const std::initializer_list<std::string_view> stops = {
        "FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "FETCH",
        "FOR",  "UNION", "INTERSECT", "EXCEPT", "ON", "RETURNING", "AS", "INTO"};
    Value v = classify(*val, start, stops);
    // The select list cannot see the inserted row, so the unified CASE
    // repeats the expression: only when repeating it changes nothing.
    if (opts_.phase != Phase::Cleanup && v.kind == Value::Kind::Expr && does_work(*val))
      return p.mark_unsupported("INSERT ... SELECT whose " + m.cfg->legacy_column +
                                    " value calls a function or sub-query (the copy would run it twice)",
                                &m);
    uint32_t after = v.end;
    if (!str_member(*rt, "name").empty()) {
      int as = next_token(v.end);
      if (as < 0 || !is_keyword(sql_, toks_[as], "AS") || as + 1 >= static_cast<int>(toks_.size()))
        return p.mark_unsupported("select-list alias without AS", &m);
      after = toks_[as + 1].end;
    }
    auto ev = make_event_(m, target.table, v);
    std::string unified = unified_value(m, v, target, ev, p);
    if (!p.unsupported.empty()) return;
    if (unified.empty()) unified = typed_null(m, target);
    p.events.push_back(ev);
    const bool cleanup = opts_.phase == Phase::Cleanup;
    p.edits.push_back(unified_column_edit(insert_column(m, col_tok, k, ncols, target), cleanup));
    p.edits.push_back(unified_value_edit(v, after, std::move(unified), cleanup));
  }

  void copy(const JsonValue& c, PendingStatement& p) {
    auto* is_from = member(c, "is_from");
    if (!is_from || !is_from->IsBool() || !is_from->GetBool()) return;
    for (const auto* m : migrations_for(member(c, "relation"))) {
      auto* att = member(c, "attlist");
      bool writes_legacy = !att;  // no list: every column
      for (size_t i = 0; att && att->IsArray() && i < att->Size(); ++i)
        if (auto* s = node((*att)[static_cast<rapidjson::SizeType>(i)], "String"))
          writes_legacy = writes_legacy || str_member(*s, "sval") == m->cfg->legacy_column;
      if (writes_legacy) return p.mark_unsupported("COPY FROM into " + m->cfg->table + " cannot be rewritten", m);
    }
  }

  // ---- values and their unified counterpart --------------------------------
  Value classify(const JsonValue& val, int first_tok, std::initializer_list<std::string_view> stops) {
    int last = expr_last_token(first_tok, stops);
    return classify_span(val, first_tok, last);
  }

  Value classify_span(const JsonValue& val, int first, int last) {
    Value v;
    v.begin = toks_[first].begin;
    v.end = toks_[last].end;
    for (int i = first; i <= last; ++i) v.has_param = v.has_param || toks_[i].kind == TokenKind::Param;
    const JsonValue* c = node(val, "A_Const");
    if (auto* tc = node(val, "TypeCast")) {
      if (auto* arg = member(*tc, "arg")) c = node(*arg, "A_Const");
    }
    if (node(val, "SetToDefault")) {
      v.kind = Value::Kind::Default;
    } else if (c) {
      if (auto* isnull = member(*c, "isnull"); isnull && isnull->IsBool() && isnull->GetBool()) {
        v.kind = Value::Kind::Null;
      } else if (auto* s = member(*c, "sval")) {
        v.kind = Value::Kind::Literal;
        v.literal = std::string(str_member(*s, "sval"));
      } else if (auto* iv = member(*c, "ival")) {
        v.kind = Value::Kind::Literal;
        v.literal = std::to_string(int_member(*iv, "ival", 0));
      } else if (auto* fv = member(*c, "fval")) {
        v.kind = Value::Kind::Literal;
        v.literal = std::string(str_member(*fv, "fval"));
      } else if (auto* bv = member(*c, "boolval")) {
        v.kind = Value::Kind::Literal;
        auto* b = member(*bv, "boolval");
        v.literal = b && b->IsBool() && b->GetBool() ? "true" : "false";
      }
    }
    return v;
  }

  std::string typed_null(const CompiledMigration& m, const Target& t) {
    // A NULL of the unified column's own type, so CASE branches and enum
    // columns resolve exactly as a plain assignment would.
    return "(SELECT " + quote_ident(m.cfg->unified_column) + " FROM " + t.rel_sql + " WHERE false)";
  }

  // Returns the unified expression; empty means "assign nothing" (keep).
  // `computed`: an expression that already holds the value (the evaluate-once
  // form's column), mapped in place of the client's text.
  std::string unified_value(const CompiledMigration& m, const Value& v, const Target& t,
                            MigrationEvent& ev, PendingStatement& p, const std::string* computed = nullptr) {
    const auto policy = m.cfg->unmapped;
    if (v.kind == Value::Kind::Literal || v.kind == Value::Kind::Null)
      return unified_for_literal(m, v.kind == Value::Kind::Literal ? &v.literal : nullptr, t.table, ev, p, quote_literal);
    // An expression or parameter: map it in SQL with a CASE over its text form.
    ev.unified = "CASE";
    std::string expr = computed ? *computed : std::string(v.text(sql_));
    // An untyped parameter takes its type from the first typed use that
    // PostgreSQL analyses, and it analyses every SET/VALUES expression before
    // coercing any to its column. A bare CAST($1 AS text) would therefore make
    // $1 text and break an enum or varchar column ("inconsistent types deduced").
    // COALESCE with a typed NULL of the legacy column gives $1 exactly the
    // type the client's own statement gives it.
    bool anchor = v.has_param && !computed;
    std::string as_text = anchor ? "CAST(COALESCE(" + expr + ", (SELECT " + quote_ident(m.cfg->legacy_column) +
                                       " FROM " + t.rel_sql + " WHERE false)) AS text)"
                                 : "CAST((" + expr + ") AS text)";
    std::string else_;
    switch (policy) {
      case Unmapped::Keep:
        else_ = t.row_ref.empty() ? typed_null(m, t) : t.row_ref + "." + quote_ident(m.cfg->unified_column);
        break;
      case Unmapped::Copy: else_ = as_text; break;
      case Unmapped::Null: else_ = typed_null(m, t); break;
      case Unmapped::Reject:
        // SQL has no RAISE expression; a failing cast is the portable way to
        // abort the statement, with our message in the error text.
        else_ = "CASE WHEN CAST(" +
                quote_literal("switchyard: unmapped value for " + t.table + "." + m.cfg->legacy_column +
                              " (migration " + m.cfg->name + ", unmapped: reject): ") +
                " || COALESCE(" + as_text + ", 'NULL') AS pg_catalog.int4) IS NULL THEN " + typed_null(m, t) + " END";
        break;
    }
    return case_expression(as_text, m.cfg->map, quote_literal, else_);
  }

  // The literal of `where` when it is `<entity column> = literal` (either way round).
  std::string entity_id(const JsonValue* where, const CompiledMigration& m) {
    if (!where) return "";
    auto* e = node(*where, "A_Expr");
    if (!e || str_member(*e, "kind") != "AEXPR_OP") return "";
    auto* name = member(*e, "name");
    if (!name || !name->IsArray() || name->Size() != 1) return "";
    auto* op = node((*name)[0], "String");
    if (!op || str_member(*op, "sval") != "=") return "";
    for (auto [col, val] : {std::pair{"lexpr", "rexpr"}, std::pair{"rexpr", "lexpr"}}) {
      auto* c = member(*e, col);
      auto* cr = c ? node(*c, "ColumnRef") : nullptr;
      auto* fields = cr ? member(*cr, "fields") : nullptr;
      if (!fields || !fields->IsArray() || fields->Empty()) continue;
      auto* last = node((*fields)[fields->Size() - 1], "String");
      if (!last || !is_entity_column(m, str_member(*last, "sval"), Dialect::Postgres)) continue;
      auto* v = member(*e, val);
      auto* k = v ? node(*v, "A_Const") : nullptr;
      if (!k) continue;
      if (auto* iv = member(*k, "ival")) return std::to_string(int_member(*iv, "ival", 0));
      if (auto* sv = member(*k, "sval")) return std::string(str_member(*sv, "sval"));
    }
    return "";
  }

  // ---- token helpers -----------------------------------------------------------
  int token_at(uint32_t offset) const {
    if (offset == static_cast<uint32_t>(-1)) return -1;
    auto it = std::lower_bound(toks_.begin(), toks_.end(), offset,
                               [](const Token& t, uint32_t off) { return t.begin < off; });
    if (it == toks_.end() || it->begin != offset) return -1;
    return static_cast<int>(it - toks_.begin());
  }

  int next_token(uint32_t offset) const {
    auto it = std::lower_bound(toks_.begin(), toks_.end(), offset,
                               [](const Token& t, uint32_t off) { return t.begin < off; });
    return it == toks_.end() || it->begin >= limit_ ? -1 : static_cast<int>(it - toks_.begin());
  }

  bool is_op(const Token& t, std::string_view op) const {
    return t.kind == TokenKind::Operator && sql_.substr(t.begin, t.end - t.begin) == op;
  }

  // Last token of the expression starting at `first` (see sql_lexer.h).
  int expr_last_token(int first, std::initializer_list<std::string_view> stops) const {
    return expression_last_token(sql_, toks_, first, limit_, stops);
  }

  static bool is_excluded_ref(const JsonValue& val, const std::string& column) {
    auto* cr = node(val, "ColumnRef");
    auto* fields = cr ? member(*cr, "fields") : nullptr;
    if (!fields || !fields->IsArray() || fields->Size() != 2) return false;
    auto* a = node((*fields)[0], "String");
    auto* b = node((*fields)[1], "String");
    return a && b && str_member(*a, "sval") == "excluded" && str_member(*b, "sval") == column;
  }

  static bool references_excluded(const JsonValue& v, const std::string& column) {
    if (is_excluded_ref(v, column)) return true;
    if (v.IsObject()) {
      for (const auto& m : v.GetObject())
        if (references_excluded(m.value, column)) return true;
    } else if (v.IsArray()) {
      for (const auto& e : v.GetArray())
        if (references_excluded(e, column)) return true;
    }
    return false;
  }

  static bool json_contains(const JsonValue& v, const char* key) {
    if (v.IsObject()) {
      for (const auto& m : v.GetObject())
        if (std::string_view(m.name.GetString()) == key || json_contains(m.value, key)) return true;
    } else if (v.IsArray()) {
      for (const auto& e : v.GetArray())
        if (json_contains(e, key)) return true;
    }
    return false;
  }

  // ---- outcome of one statement --------------------------------------------
  void finish(PendingStatement& p, uint32_t begin, uint32_t end) {
    finish_statement(p, opts_, events, edits,
                     [&](const std::string& message, const char* sqlstate) { refuse(begin, end, message, sqlstate); });
  }

  // Replaces the statement with one that fails with `message`, so the client
  // sees a clear error and nothing is written (a multi-statement Query runs
  // in one implicit transaction, so earlier statements roll back too).
  void refuse(uint32_t begin, uint32_t end, const std::string& message, const char* sqlstate) {
    rejected = true;
    if (int first = next_token(begin); first >= 0) begin = toks_[first].begin;  // keep the whitespace before it
    std::string text = "switchyard: " + message;
    std::string replacement;
    if (opts_.extended) {
      // Fails during parse analysis, before parameter types are checked.
      replacement = "SELECT CAST(" + quote_literal(text) + " AS pg_catalog.int4)";
    } else {
      std::string tag = "$sy$";
      for (int n = 0; text.find(tag) != std::string::npos; ++n) tag = "$sy" + std::to_string(n) + "$";
      replacement = "DO " + tag + "BEGIN RAISE EXCEPTION USING MESSAGE = " + quote_literal(text) + ", ERRCODE = '" +
                    sqlstate + "', HINT = " + quote_literal("switchyard refused this write; see its log") + "; END" +
                    tag;
    }
    edits.push_back({begin, end - begin, replacement});
  }

  std::string_view sql_;
  const std::vector<Token>& toks_;
  const MigrationSet& ms_;
  const RewriteOptions& opts_;
  EventBuilder make_event_;
  uint32_t limit_ = 0;
};

}  // namespace

Decision PgRewriter::rewrite(std::string_view sql, const RewriteOptions& opts) const {
  Decision d;
  if (opts.phase == Phase::Off || migrations_.empty()) return d;
  PgParse parse(sql);
  if (!parse.ok()) return d;  // the server will report the syntax error itself
  auto toks = lex_sql(sql);
  Analyzer a(sql, toks, migrations_, opts);
  for (const auto& stmt : parse.statements().GetArray()) a.statement(stmt);
  d.events = std::move(a.events);
  d.rejected = a.rejected;
  if (!d.events.empty()) d.fingerprint = fingerprint(sql);
  if (a.edits.empty()) return d;

  std::string out = apply_edits(sql, std::move(a.edits));
  // Belt and braces: the result must parse into as many statements with the
  // same parameters, or the client's original goes through untouched.
  std::string check_error;
  int statements = statement_count(out, &check_error);
  auto out_toks = lex_sql(out);
  if (statements != static_cast<int>(parse.statements().Size()) ||
      (!d.rejected && max_param(out, out_toks) != max_param(sql, toks)))
    return forward_unverified(std::move(d), "rewritten text did not verify: " +
                                                (statements >= 0 ? std::string("statement or parameter count changed")
                                                                 : check_error));
  d.action = Decision::Action::Rewrite;
  d.sql = std::move(out);
  if (parse.statements().Size() == 1 && a.shape) d.read_shape = std::move(a.shape);
  return d;
}

}  // namespace sy::rewrite
