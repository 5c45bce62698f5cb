#include "rewrite/pg/read_switch.h"

#include <algorithm>
#include <optional>

#include "rewrite/sql_text.h"

namespace sy::rewrite {

using config::Phase;

namespace {

// ---- what a query level can see ----------------------------------------------

// One FROM item of a query level, as far as name resolution needs it.
struct Item {
  enum class Kind {
    Migrated,  //!< a migrated table: has its legacy column(s); other columns unknown
    Columns,   //!< a derived table or CTE whose output names are all known
    Unknown,   //!< a table or function whose columns the proxy cannot list
  };
  Kind kind = Kind::Unknown;
  std::string name;                            //!< what it is qualified by: alias, else relation name
  std::string schema;                          //!< an unaliased relation's schema, as written (may be empty)
  std::vector<const CompiledMigration*> migs;  //!< Migrated
  std::vector<std::string> columns;            //!< Columns
};

struct Cte {
  std::string name;
  std::optional<std::vector<std::string>> columns;  //!< nullopt: not all known
};

// One query level (a SELECT, or a write's own level in cleanup).
struct Level {
  const Level* parent = nullptr;
  std::vector<Item> items;
  std::vector<Cte> ctes;
  //! While a non-LATERAL derived table of this level is walked: its FROM
  //! items are not in scope there, its CTEs are.
  bool items_hidden = false;
  //! Output names of the select list, for ORDER BY / DISTINCT ON / GROUP BY.
  std::vector<std::string> outputs;
  std::vector<bool> output_edited;  //!< per select-list entry: the switch edited it
  //! JOIN ... ON conditions, walked once all the level's FROM items are known.
  std::vector<const JsonValue*> join_quals;
  //! GROUP BY or HAVING: its legacy column may only be read through the
  //! grouped expression, which a subquery cannot match (PostgreSQL compares
  //! a sublink's outer references with grouping columns as plain Vars).
  bool grouped = false;
};

const Cte* find_cte(const Level* lv, std::string_view name) {
  for (; lv; lv = lv->parent)
    for (auto it = lv->ctes.rbegin(); it != lv->ctes.rend(); ++it)
      if (it->name == name) return &*it;
  return nullptr;
}

std::vector<std::string_view> string_fields(const JsonValue& fields, bool& star) {
  std::vector<std::string_view> out;
  star = false;
  for (const auto& f : fields.GetArray()) {
    if (auto* s = node(f, "String")) out.push_back(str_member(*s, "sval"));
    else star = true;  // A_Star
  }
  return out;
}

// The name PostgreSQL gives an output column, and how strongly (its
// FigureColnameInternal: 2 for a real name, 1 for a fallback such as "case"
// or a type name, 0 for none, which ends up as "?column?"). Only the nodes
// a read of a status column meets are spelled out; any other node names
// nothing, and since the switch only adds a name where it edited the entry,
// an entry it does not know keeps the name PostgreSQL gives it.
struct Colname {
  std::string name;
  int strength = 0;
};

Colname figure(const JsonValue& v) {
  auto last_string = [](const JsonValue* list) -> std::string {
    if (!list || !list->IsArray() || list->Empty()) return {};
    auto* s = node((*list)[list->Size() - 1], "String");
    return s ? std::string(str_member(*s, "sval")) : std::string();
  };
  if (auto* cr = node(v, "ColumnRef")) {
    auto name = last_string(member(*cr, "fields"));
    return name.empty() ? Colname{} : Colname{name, 2};  // empty: a `*`
  }
  if (auto* ind = node(v, "A_Indirection")) {
    auto name = last_string(member(*ind, "indirection"));
    if (!name.empty()) return {name, 2};
    auto* arg = member(*ind, "arg");
    return arg ? figure(*arg) : Colname{};
  }
  if (auto* fc = node(v, "FuncCall")) return {last_string(member(*fc, "funcname")), 2};
  if (auto* ae = node(v, "A_Expr")) return str_member(*ae, "kind") == "AEXPR_NULLIF" ? Colname{"nullif", 2} : Colname{};
  if (auto* tc = node(v, "TypeCast")) {
    auto* arg = member(*tc, "arg");
    Colname inner = arg ? figure(*arg) : Colname{};
    if (inner.strength > 1) return inner;
    auto* tn = member(*tc, "typeName");
    return {tn ? last_string(member(*tn, "names")) : std::string(), 1};
  }
  if (auto* cc = node(v, "CollateClause")) {
    auto* arg = member(*cc, "arg");
    return arg ? figure(*arg) : Colname{};
  }
  if (auto* ce = node(v, "CaseExpr")) {
    auto* def = member(*ce, "defresult");
    Colname d = def ? figure(*def) : Colname{};
    return d.strength > 1 ? d : Colname{"case", 1};
  }
  if (node(v, "CoalesceExpr")) return {"coalesce", 2};
  if (node(v, "A_ArrayExpr")) return {"array", 2};
  if (node(v, "RowExpr")) return {"row", 2};
  if (node(v, "GroupingFunc")) return {"grouping", 2};
  if (auto* mm = node(v, "MinMaxExpr")) return {str_member(*mm, "op") == "IS_GREATEST" ? "greatest" : "least", 2};
  if (auto* sl = node(v, "SubLink")) {
    auto type = str_member(*sl, "subLinkType");
    if (type == "EXISTS_SUBLINK") return {"exists", 2};
    if (type == "ARRAY_SUBLINK") return {"array", 2};
    if (type == "EXPR_SUBLINK" || type == "MULTIEXPR_SUBLINK")
      if (auto* sub = member(*sl, "subselect"))
        if (auto* s = node(*sub, "SelectStmt"))
          if (auto* tl = member(*s, "targetList"); tl && tl->IsArray() && !tl->Empty())
            if (auto* rt = node((*tl)[0], "ResTarget")) {
              if (auto n = str_member(*rt, "name"); !n.empty()) return {std::string(n), 2};
              if (auto* val = member(*rt, "val")) {
                Colname inner = figure(*val);
                return inner.strength > 0 ? Colname{inner.name, 2} : Colname{"?column?", 2};
              }
            }
  }
  return {};
}

std::string figure_colname(const JsonValue& v) {
  Colname c = figure(v);
  return c.strength > 0 && !c.name.empty() ? c.name : "?column?";
}

// What an A_Const holds, as text; nullopt for NULL and kinds a status
// comparison does not use (floats, booleans, bit strings).
std::optional<std::string> const_text(const JsonValue& v) {
  auto* c = node(v, "A_Const");
  if (!c || member(*c, "isnull")) return std::nullopt;
  if (auto* s = member(*c, "sval")) return std::string(str_member(*s, "sval"));
  if (auto* i = member(*c, "ival")) {
    int n = int_member(*i, "ival", 0);  // libpg_query leaves 0 out
    if (n < 0) return std::nullopt;     // "-1" is two tokens; not worth the care
    return std::to_string(n);
  }
  return std::nullopt;
}

// ---- the walk -------------------------------------------------------------------

class Switcher {
 public:
  Switcher(std::string_view sql, const std::vector<Token>& toks, uint32_t limit, const MigrationSet& ms, Phase phase)
      : sql_(sql), toks_(toks), limit_(limit), ms_(ms), phase_(phase) {}

  ReadSwitchResult run(const JsonValue& stmt) {
    top_select_ = node(stmt, "SelectStmt");
    statement(stmt, nullptr);
    if (!result_.unsupported.empty()) {
      // Label the report with the migration the statement reads, for the counters.
      for (const auto& m : ms_.all())
        if (!result_.unsupported_migration && !result_.events.empty() && m.cfg->name == result_.events.front().migration)
          result_.unsupported_migration = &m;
      result_.edits.clear();
      result_.events.clear();
    } else if (top_select_) {
      result_.shape = std::move(shape_);
    }
    return std::move(result_);
  }

 private:
  // ---- statements ----------------------------------------------------------------
  void statement(const JsonValue& wrapper, const Level* parent) {
    if (auto* s = node(wrapper, "SelectStmt")) {
      select(*s, parent);
    } else if (auto* e = node(wrapper, "ExplainStmt")) {
      if (auto* q = member(*e, "query")) statement(*q, parent);
    } else if (auto* p = node(wrapper, "PrepareStmt")) {
      if (auto* q = member(*p, "query")) statement(*q, parent);
    } else if (auto* d = node(wrapper, "DeclareCursorStmt")) {
      if (auto* q = member(*d, "query")) statement(*q, parent);
    } else if (auto* c = node(wrapper, "CreateTableAsStmt")) {
      if (auto* q = member(*c, "query")) statement(*q, parent);
    } else if (auto* v = node(wrapper, "ViewStmt")) {
      view(*v);
    } else if (auto* cp = node(wrapper, "CopyStmt")) {
      copy(*cp, parent);
    } else if (auto* u = node(wrapper, "UpdateStmt")) {
      write(*u, parent, "relation", "fromClause");
    } else if (auto* dl = node(wrapper, "DeleteStmt")) {
      write(*dl, parent, "relation", "usingClause");
    } else if (auto* i = node(wrapper, "InsertStmt")) {
      insert(*i, parent);
    } else if (auto* m = node(wrapper, "MergeStmt")) {
      if (phase_ == Phase::Cleanup)
        if (auto* rel = member(*m, "relation"); rel && !migrations_of(*rel).empty())
          fail("MERGE into a migrated table reads its legacy column unswitched", migrations_of(*rel).front());
    }
  }

  void view(const JsonValue& v) {
    // A view keeps its query text: a switched definition would outlive the
    // phase (and a rollback), an unswitched one is read unswitched.
    auto* q = member(v, "query");
    if (!q) return;
    Switcher probe(sql_, toks_, limit_, ms_, phase_);
    auto r = probe.run(*q);
    if (r.edits.empty() && r.unsupported.empty()) return;
    const CompiledMigration* m = r.unsupported_migration;
    for (const auto& c : ms_.all())
      if (!m && !r.events.empty() && c.cfg->name == r.events.front().migration) m = &c;
    fail("CREATE VIEW over a migrated table's legacy column: reads through a view are not switched", m);
  }

  void copy(const JsonValue& c, const Level* parent) {
    if (auto* q = member(c, "query")) return statement(*q, parent);
    if (member(c, "is_from")) return;  // COPY ... FROM writes: the write rewrite's
    if (auto* rel = member(c, "relation"))
      if (auto migs = migrations_of(*rel); !migs.empty())
        fail("COPY " + migs.front()->cfg->table + " TO reads the stored legacy column", migs.front());
  }

  // UPDATE / DELETE: in cleanup, their WHERE, FROM/USING, SET values and
  // RETURNING read the legacy column as legacy'.
  void write(const JsonValue& w, const Level* parent, const char* rel_key, const char* from_key) {
    if (phase_ != Phase::Cleanup) return;
    Level lv;
    lv.parent = parent;
    with_clause(w, lv);
    if (auto* rel = member(w, rel_key)) add_range_var(*rel, lv);
    from_list(member(w, from_key), lv);
    for (const auto* quals : lv.join_quals) walk(*quals, lv, true);
    if (auto* tl = member(w, "targetList"); tl && tl->IsArray())
      for (const auto& t : tl->GetArray())
        if (auto* rt = node(t, "ResTarget"))
          if (auto* val = member(*rt, "val")) walk(*val, lv, false);
    if (auto* where = member(w, "whereClause")) walk(*where, lv, true);
    returning(w, lv);
  }

  void insert(const JsonValue& ins, const Level* parent) {
    if (phase_ != Phase::Cleanup) return;
    Level lv;
    lv.parent = parent;
    with_clause(ins, lv);
    // The SELECT (or VALUES) feeding the INSERT is its own level: the target
    // table is not in its scope.
    if (auto* sel = member(ins, "selectStmt")) statement(*sel, &lv);
    if (auto* rel = member(ins, "relation")) add_range_var(*rel, lv);
    if (auto* oc = member(ins, "onConflictClause")) {
      // EXCLUDED.<legacy> is the proposed row, which the write rewrite owns;
      // anything else here that reads the legacy column is not handled.
      Level conflict;
      conflict.parent = &lv;
      conflict.items.push_back(Item{Item::Kind::Unknown, "excluded", {}, {}});
      ReadSwitchResult saved = std::move(result_);
      result_ = {};
      if (auto* tl = member(*oc, "targetList"); tl && tl->IsArray())
        for (const auto& t : tl->GetArray())
          if (auto* rt = node(t, "ResTarget"))
            if (auto* val = member(*rt, "val")) walk(*val, conflict, false);
      if (auto* where = member(*oc, "whereClause")) walk(*where, conflict, false);
      bool reads = !result_.edits.empty();
      std::string why = result_.unsupported;
      auto* m = result_.unsupported_migration;
      result_ = std::move(saved);
      if (reads) fail("ON CONFLICT DO UPDATE reads the legacy column", nullptr);
      else if (!why.empty()) fail(why, m);
    }
    returning(ins, lv);
  }

  void returning(const JsonValue& w, Level& lv) {
    if (auto* rl = member(w, "returningList"); rl && rl->IsArray())
      for (const auto& t : rl->GetArray())
        if (auto* rt = node(t, "ResTarget")) target(*rt, lv, false);
  }

  // ---- SELECT ------------------------------------------------------------------------
  //! Walks one SELECT and returns its output column names (nullopt when a `*`
  //! makes them unknown). `exists`: the target list of EXISTS (...), whose
  //! columns nobody sees.
  std::optional<std::vector<std::string>> select(const JsonValue& s, const Level* parent, bool exists = false) {
    Level lv;
    lv.parent = parent;
    const bool top = &s == top_select_;
    with_clause(s, lv);
    if (str_member(s, "op") != "" && str_member(s, "op") != "SETOP_NONE") {
      // UNION/INTERSECT/EXCEPT: each branch is a query of its own; the
      // ORDER BY/LIMIT of the whole can only name its output columns.
      std::optional<std::vector<std::string>> out;
      if (auto* l = member(s, "larg")) out = select(*l, &lv, exists);
      if (auto* r = member(s, "rarg")) select(*r, &lv, exists);
      if (auto* lc = member(s, "limitCount")) walk(*lc, lv, false);
      if (auto* lo = member(s, "limitOffset")) walk(*lo, lv, false);
      if (top) {
        // Duplicates removed across branches: every status read is "elsewhere".
        shape_.ordered = member(s, "sortClause") != nullptr;
        shape_.limited = member(s, "limitCount") || member(s, "limitOffset");
      }
      return out;
    }
    from_list(member(s, "fromClause"), lv);
    if (auto* gc = member(s, "groupClause"); (gc && gc->IsArray() && !gc->Empty()) || member(s, "havingClause"))
      lv.grouped = true;
    if (auto* vl = member(s, "valuesLists")) walk(*vl, lv, false);
    std::optional<std::vector<std::string>> out = std::vector<std::string>{};
    std::vector<const JsonValue*> top_values;  // the top level's select-list expressions, by position
    if (auto* tl = member(s, "targetList"); tl && tl->IsArray()) {
      for (const auto& t : tl->GetArray())
        if (auto* rt = node(t, "ResTarget")) {
          size_t edits_before = result_.edits.size();
          // A bare column of the top-level select list is a status output
          // the comparator maps; positions are known up to the first `*`.
          auto* val = member(*rt, "val");
          if (top && out && val && node(*val, "ColumnRef")) projecting_ = static_cast<int>(out->size());
          if (top && out) top_values.push_back(val);
          auto name = target(*rt, lv, exists);
          projecting_ = -1;
          if (!name) out.reset();
          else if (out) out->push_back(*name);
          lv.output_edited.push_back(result_.edits.size() != edits_before);
        }
    }
    if (top) top_ = &lv;
    if (out) lv.outputs = *out;
    for (const auto* quals : lv.join_quals) walk(*quals, lv, true);
    if (auto* where = member(s, "whereClause")) walk(*where, lv, true);
    if (auto* gl = member(s, "groupClause"); gl && gl->IsArray())
      for (const auto& g : gl->GetArray()) {
        // GROUP BY prefers a FROM column of this level to an output name.
        if (auto name = bare_name(g); name && !resolves_here(*name, lv) && names_output(*name, lv)) continue;
        walk(g, lv, false);
      }
    // HAVING sees groups: a raw unified column is not grouped there, so its
    // predicates keep the CASE (which matches the grouped CASE expression).
    if (auto* having = member(s, "havingClause")) walk(*having, lv, false);
    if (auto* wc = member(s, "windowClause")) walk(*wc, lv, false);
    order_by(member(s, "sortClause"), lv);
    if (auto* dc = member(s, "distinctClause"); dc && dc->IsArray())
      for (const auto& d : dc->GetArray()) order_item(d, lv);
    if (auto* lc = member(s, "limitCount")) walk(*lc, lv, false);
    if (auto* lo = member(s, "limitOffset")) walk(*lo, lv, false);
    if (top) {
      describe_top(s, lv, top_values);
      top_ = nullptr;
    }
    return out;
  }

  // The top-level SELECT's order and limit, for the comparator; grouping and
  // DISTINCT merge rows by the value of their status outputs.
  void describe_top(const JsonValue& s, const Level& lv, const std::vector<const JsonValue*>& values) {
    if (member(s, "groupClause") || member(s, "distinctClause") || member(s, "havingClause"))
      for (const auto& so : shape_.status_outputs) add_unique(shape_.read_elsewhere, so.migration);
    shape_.limited = member(s, "limitCount") || member(s, "limitOffset");
    if (auto* lc = member(s, "limitCount")) {
      if (auto* c = node(*lc, "A_Const"); c && !member(*c, "isnull"))
        if (auto* i = member(*c, "ival")) shape_.limit = int_member(*i, "ival", 0);
      if (auto* p = node(*lc, "ParamRef")) shape_.limit_param = int_member(*p, "number", 0);
    }
    auto* sort = member(s, "sortClause");
    if (!sort || !sort->IsArray()) return;
    shape_.ordered = true;
    for (const auto& sb : sort->GetArray()) {
      auto* by = node(sb, "SortBy");
      auto* n = by ? member(*by, "node") : nullptr;
      auto pos = n ? output_position(*n, lv, values) : std::nullopt;
      if (!pos) {
        shape_.order_keys.clear();  // an order the comparator cannot see: compared without it
        return;
      }
      shape_.order_keys.push_back(*pos);
    }
  }

  //! Which output column an ORDER BY item is: a position, an output name, or
  //! the very column reference a select-list entry holds.
  static std::optional<size_t> output_position(const JsonValue& n, const Level& lv,
                                               const std::vector<const JsonValue*>& values) {
    if (auto* c = node(n, "A_Const")) {
      auto* i = member(*c, "ival");
      int k = i ? int_member(*i, "ival", 0) : 0;
      if (k >= 1 && static_cast<size_t>(k) <= values.size()) return static_cast<size_t>(k - 1);
      return std::nullopt;
    }
    if (auto name = bare_name(n))
      for (size_t k = 0; k < lv.outputs.size() && k < values.size(); ++k)
        if (lv.outputs[k] == *name) return k;
    auto* cr = node(n, "ColumnRef");
    if (!cr) return std::nullopt;
    auto text = [](const JsonValue& ref) {
      std::string out;
      bool star = false;
      if (auto* f = member(ref, "fields"))
        for (auto part : string_fields(*f, star)) out += std::string(part) + ".";
      return star ? std::string() : out;
    };
    auto want = text(*cr);
    for (size_t k = 0; k < values.size(); ++k)
      if (auto* vc = values[k] ? node(*values[k], "ColumnRef") : nullptr; vc && !want.empty() && text(*vc) == want)
        return k;
    return std::nullopt;
  }

  static void add_unique(std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  }

  void order_by(const JsonValue* sort, const Level& lv) {
    if (!sort || !sort->IsArray()) return;
    for (const auto& sb : sort->GetArray()) {
      auto* by = node(sb, "SortBy");
      if (auto* n = by ? member(*by, "node") : nullptr) order_item(*n, lv);
    }
  }

  // ORDER BY and DISTINCT ON: a bare name that is an output column's name
  // means that output column (already switched in the select list); a
  // number means a position; anything else is an expression over the input.
  void order_item(const JsonValue& v, const Level& lv) {
    if (auto* c = node(v, "A_Const")) {
      if (auto* i = member(*c, "ival"); i && &lv == top_) sorts_output(static_cast<size_t>(int_member(*i, "ival", 0)) - 1);
      return;
    }
    if (auto name = bare_name(v); name && names_output(*name, lv)) {
      // Several entries of that name are ambiguous unless PostgreSQL finds
      // them equal, which can depend on typmods the switch does not keep
      // (`status` vs `status::varchar` over a varchar(20)): let the server
      // decide on the client's own text.
      size_t named = 0;
      bool edited = false;
      for (size_t k = 0; k < lv.outputs.size(); ++k)
        if (lv.outputs[k] == *name) {
          ++named;
          edited = edited || (k < lv.output_edited.size() && lv.output_edited[k]);
          if (&lv == top_) sorts_output(k);
        }
      if (named > 1 && edited) fail("ORDER BY a name that several switched output columns have", nullptr);
      return;
    }
    walk(v, lv, false);
  }

  // The top level orders (or deduplicates) by output `k`: if that is a status
  // output, its order is the legacy text's, which legacy' may not keep.
  void sorts_output(size_t k) {
    for (const auto& so : shape_.status_outputs)
      if (so.position == k) add_unique(shape_.read_elsewhere, so.migration);
  }

  static std::optional<std::string> bare_name(const JsonValue& v) {
    auto* cr = node(v, "ColumnRef");
    auto* fields = cr ? member(*cr, "fields") : nullptr;
    if (!fields || !fields->IsArray() || fields->Size() != 1) return std::nullopt;
    auto* s = node((*fields)[0], "String");
    if (!s) return std::nullopt;
    return std::string(str_member(*s, "sval"));
  }

  static bool names_output(const std::string& name, const Level& lv) {
    return std::find(lv.outputs.begin(), lv.outputs.end(), name) != lv.outputs.end();
  }

  bool resolves_here(const std::string& name, const Level& lv) const {
    for (const auto& it : lv.items) {
      if (it.kind == Item::Kind::Migrated && legacy_of(it, name)) return true;
      if (it.kind == Item::Kind::Columns && has_column(it, name)) return true;
    }
    return false;
  }

  void with_clause(const JsonValue& stmt, Level& lv) {
    auto* w = member(stmt, "withClause");
    auto* ctes = w ? member(*w, "ctes") : nullptr;
    if (!ctes || !ctes->IsArray()) return;
    const bool recursive = member(*w, "recursive") != nullptr;
    for (const auto& c : ctes->GetArray()) {
      auto* cte = node(c, "CommonTableExpr");
      if (!cte) continue;
      Cte entry{std::string(str_member(*cte, "ctename")), std::nullopt};
      auto aliases = colnames(member(*cte, "aliascolnames"));
      // A recursive CTE sees itself; its columns are what it declares.
      if (recursive) lv.ctes.push_back(Cte{entry.name, aliases});
      std::optional<std::vector<std::string>> cols;
      if (auto* q = member(*cte, "ctequery")) {
        if (auto* s = node(*q, "SelectStmt")) cols = select(*s, &lv);
        else statement(*q, &lv), cols = returning_names(*q);
      }
      entry.columns = aliases ? aliases : cols;
      if (recursive) lv.ctes.back() = entry;
      else lv.ctes.push_back(entry);
    }
  }

  // Output names of a data-modifying CTE: its RETURNING list.
  static std::optional<std::vector<std::string>> returning_names(const JsonValue& wrapper) {
    const JsonValue* w = nullptr;
    for (const char* t : {"InsertStmt", "UpdateStmt", "DeleteStmt"})
      if (!w) w = node(wrapper, t);
    auto* rl = w ? member(*w, "returningList") : nullptr;
    std::vector<std::string> out;
    if (!rl || !rl->IsArray()) return out;
    for (const auto& t : rl->GetArray()) {
      auto* rt = node(t, "ResTarget");
      if (!rt) return std::nullopt;
      if (auto n = str_member(*rt, "name"); !n.empty()) out.emplace_back(n);
      else if (auto* val = member(*rt, "val")) {
        auto name = figure_colname(*val);
        if (auto* cr = node(*val, "ColumnRef"); cr && name == "?column?") return std::nullopt;  // RETURNING *
        out.push_back(name);
      }
    }
    return out;
  }

  static std::optional<std::vector<std::string>> colnames(const JsonValue* list) {
    if (!list || !list->IsArray() || list->Empty()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& c : list->GetArray())
      if (auto* s = node(c, "String")) out.emplace_back(str_member(*s, "sval"));
    return out;
  }

  // ---- FROM ------------------------------------------------------------------------
  void from_list(const JsonValue* from, Level& lv) {
    if (!from || !from->IsArray()) return;
    for (const auto& f : from->GetArray()) from_item(f, lv);
  }

  std::vector<const CompiledMigration*> migrations_of(const JsonValue& rel) const {
    const JsonValue* rv = node(rel, "RangeVar");
    if (!rv) rv = &rel;  // UpdateStmt/InsertStmt hold the fields directly
    return ms_.for_table(str_member(*rv, "schemaname"), str_member(*rv, "relname"));
  }

  void add_range_var(const JsonValue& rel, Level& lv) {
    const JsonValue* rv = node(rel, "RangeVar");
    if (!rv) rv = &rel;
    auto schema = str_member(*rv, "schemaname");
    auto relname = str_member(*rv, "relname");
    auto* alias = member(*rv, "alias");
    auto alias_name = alias ? str_member(*alias, "aliasname") : std::string_view();
    Item it;
    it.name = std::string(alias_name.empty() ? relname : alias_name);
    if (alias_name.empty()) it.schema = std::string(schema);
    if (schema.empty())
      if (const Cte* cte = find_cte(&lv, relname)) {
        // A CTE shadows a table of the same name.
        auto renamed = alias ? colnames(member(*alias, "colnames")) : std::nullopt;
        auto cols = renamed ? renamed : cte->columns;
        it.kind = cols ? Item::Kind::Columns : Item::Kind::Unknown;
        if (cols) it.columns = *cols;
        lv.items.push_back(std::move(it));
        return;
      }
    it.migs = ms_.for_table(schema, relname);
    if (!it.migs.empty()) {
      it.kind = Item::Kind::Migrated;
      if (alias && member(*alias, "colnames"))
        fail("column aliases on migrated table " + std::string(relname), it.migs.front());
    }
    lv.items.push_back(std::move(it));
  }

  void from_item(const JsonValue& f, Level& lv) {
    if (node(f, "RangeVar")) return add_range_var(f, lv);
    if (auto* sub = node(f, "RangeSubselect")) {
      std::optional<std::vector<std::string>> cols;
      if (auto* q = member(*sub, "subquery")) {
        const bool lateral = member(*sub, "lateral") != nullptr;
        bool hidden = lv.items_hidden;
        lv.items_hidden = !lateral;
        if (auto* s = node(*q, "SelectStmt")) cols = select(*s, &lv);
        lv.items_hidden = hidden;
      }
      auto* alias = member(*sub, "alias");
      auto renamed = alias ? colnames(member(*alias, "colnames")) : std::nullopt;
      if (renamed) cols = renamed;
      Item it;
      it.name = alias ? std::string(str_member(*alias, "aliasname")) : std::string();
      it.kind = cols ? Item::Kind::Columns : Item::Kind::Unknown;
      if (cols) it.columns = *cols;
      lv.items.push_back(std::move(it));
      return;
    }
    if (auto* j = node(f, "JoinExpr")) {
      size_t first = lv.items.size();
      if (auto* l = member(*j, "larg")) from_item(*l, lv);
      if (auto* r = member(*j, "rarg")) from_item(*r, lv);
      bool migrated = false;
      for (size_t k = first; k < lv.items.size(); ++k) migrated = migrated || lv.items[k].kind == Item::Kind::Migrated;
      if (migrated) {
        if (member(*j, "isNatural")) fail("NATURAL JOIN with a migrated table", first_migrated(lv, first));
        if (auto* alias = member(*j, "alias"); alias && migrated)
          fail("an aliased join over a migrated table", first_migrated(lv, first));
        if (auto* using_ = member(*j, "usingClause"); using_ && using_->IsArray())
          for (const auto& u : using_->GetArray())
            if (auto* s = node(u, "String"))
              for (size_t k = first; k < lv.items.size(); ++k)
                if (legacy_of(lv.items[k], str_member(*s, "sval")))
                  fail("JOIN ... USING the legacy column", legacy_of(lv.items[k], str_member(*s, "sval")));
      }
      if (auto* quals = member(*j, "quals")) lv.join_quals.push_back(quals);
      return;
    }
    if (auto* rf = node(f, "RangeFunction")) {
      // Function arguments may refer to earlier FROM items (implicitly LATERAL).
      if (auto* fns = member(*rf, "functions")) walk(*fns, lv, false);
      auto* alias = member(*rf, "alias");
      Item it;
      it.name = alias ? std::string(str_member(*alias, "aliasname")) : std::string();
      lv.items.push_back(std::move(it));
      return;
    }
    if (auto* ts = node(f, "RangeTableSample")) {
      if (auto* rel = member(*ts, "relation")) from_item(*rel, lv);
      return;
    }
    // XMLTABLE, JSON_TABLE ...: columns unknown; their expressions are walked.
    walk(f, lv, false);
    lv.items.push_back(Item{});
  }

  const CompiledMigration* first_migrated(const Level& lv, size_t from) const {
    for (size_t k = from; k < lv.items.size(); ++k)
      if (!lv.items[k].migs.empty()) return lv.items[k].migs.front();
    return nullptr;
  }

  static const CompiledMigration* legacy_of(const Item& it, std::string_view column) {
    if (it.kind != Item::Kind::Migrated) return nullptr;
    for (const auto* m : it.migs)
      if (m->cfg->legacy_column == column) return m;
    return nullptr;
  }

  static bool has_column(const Item& it, std::string_view column) {
    return std::find(it.columns.begin(), it.columns.end(), column) != it.columns.end();
  }

  // ---- select-list entries ---------------------------------------------------------
  //! Switches one output column and returns its name (nullopt for `*`).
  std::optional<std::string> target(const JsonValue& rt, const Level& lv, bool exists) {
    auto* val = member(rt, "val");
    if (!val) return std::string("?column?");
    auto name = std::string(str_member(rt, "name"));
    if (auto* cr = node(*val, "ColumnRef")) {
      auto* fields = member(*cr, "fields");
      bool star = false;
      auto names = fields ? string_fields(*fields, star) : std::vector<std::string_view>{};
      if (star) {
        if (!exists) star_over(names, lv);
        return std::nullopt;
      }
      std::string alias = name.empty() ? " AS " + quote_ident(names.back()) : "";
      column(*cr, lv, alias, static_cast<uint32_t>(int_member(rt, "location", -1)));
      return name.empty() ? std::string(names.back()) : name;
    }
    size_t edits_before = result_.edits.size();
    walk(*val, lv, false);
    if (!name.empty()) return name;
    auto figured = figure_colname(*val);
    // `state::text` is named after state; once state is a CASE it would be
    // named `text` (or `case`): the entry keeps its name explicitly.
    if (result_.edits.size() != edits_before && figured != "?column?") {
      int first = token_at(static_cast<uint32_t>(int_member(rt, "location", -1)));
      int last = first < 0 ? -1 : target_last_token(first);
      if (last < 0) fail("cannot locate the end of a select-list entry", nullptr);
      else add_edit({toks_[last].end, 0, " AS " + quote_ident(figured)});
    }
    return figured;
  }

  // Last token of the select-list entry starting at token `first`.
  int target_last_token(int first) const {
    return expression_last_token(sql_, toks_, first, limit_,
                                 {"FROM", "INTO", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET",
                                  "FETCH", "UNION", "INTERSECT", "EXCEPT", "FOR", "RETURNING"});
  }

  void star_over(const std::vector<std::string_view>& qualifier, const Level& lv) {
    if (qualifier.empty()) {
      if (!lv.items_hidden)
        for (const auto& it : lv.items)
          if (it.kind == Item::Kind::Migrated) return fail("SELECT * over migrated table " + it.migs.front()->cfg->table, it.migs.front());
      return;
    }
    if (const Item* it = find_item(qualifier.back(), lv); it && it->kind == Item::Kind::Migrated)
      fail(std::string(qualifier.back()) + ".* over migrated table " + it->migs.front()->cfg->table, it->migs.front());
  }

  //! The FROM item `name` qualifies, innermost level first; `at`: its level.
  const Item* find_item(std::string_view name, const Level& lv, const Level** at = nullptr) const {
    for (const Level* l = &lv; l; l = l->parent) {
      if (l->items_hidden) continue;
      for (const auto& it : l->items)
        if (it.name == name) {
          if (at) *at = l;
          return &it;
        }
    }
    return nullptr;
  }

  // ---- column references -------------------------------------------------------------
  struct Resolution {
    const CompiledMigration* migration = nullptr;  //!< set: a read of this migration's legacy column
    std::string unified;                           //!< the unified column, qualified, as SQL
    const Level* level = nullptr;                  //!< the query level the column belongs to
    bool unqualified = false;                      //!< written without a table name
  };

  //! What a ColumnRef reads. Reports the statement unsupported (and returns
  //! no migration) when the proxy cannot tell.
  Resolution resolve(const JsonValue& cr, const Level& lv) {
    auto r = resolve_name(cr, lv);
    if (r.migration && r.level != &lv && r.level->grouped) {
      fail("a subquery reads the legacy column of a grouped outer query", r.migration);
      return {};
    }
    return r;
  }

  Resolution resolve_name(const JsonValue& cr, const Level& lv) {
    auto* fields = member(cr, "fields");
    if (!fields || !fields->IsArray()) return {};
    bool star = false;
    auto names = string_fields(*fields, star);
    if (star) {
      star_over(names, lv);
      return {};
    }
    if (names.size() == 1) return unqualified(names[0], lv);
    const Level* at = nullptr;
    if (names.size() == 2) {
      const Item* it = find_item(names[0], lv, &at);
      if (!it) return {};
      if (const auto* m = legacy_of(*it, names[1]))
        return {m, quote_ident(it->name) + "." + quote_ident(m->cfg->unified_column), at, false};
      return {};
    }
    // schema.table.column (what SQLAlchemy writes for a table with a schema):
    // certain only when the FROM item names that same schema; which schema an
    // unqualified FROM item is in depends on search_path, which the proxy
    // does not follow.
    const Item* it = find_item(names[names.size() - 2], lv, &at);
    const CompiledMigration* m = it ? legacy_of(*it, names.back()) : nullptr;
    if (!m) return {};
    if (names.size() == 3 && !it->schema.empty() && it->schema == names[0])
      return {m, quote_ident(it->schema) + "." + quote_ident(it->name) + "." + quote_ident(m->cfg->unified_column), at,
              false};
    fail("a schema-qualified reference to the legacy column of a table named without that schema", m);
    return {};
  }

  Resolution unqualified(std::string_view name, const Level& lv) {
    bool uncertain = false;
    std::vector<std::string> inner_names;  // FROM names of the levels passed on the way out
    for (const Level* l = &lv; l; l = l->parent) {
      if (l->items_hidden) continue;
      const Item* match = nullptr;
      const CompiledMigration* mig = nullptr;
      for (const auto& it : l->items)
        if (const auto* m = legacy_of(it, name)) {
          if (match) {
            fail("an unqualified " + std::string(name) + " that more than one migrated table has", m);
            return {};
          }
          match = &it;
          mig = m;
        }
      if (match) {
        if (uncertain) {
          fail("cannot tell whether " + std::string(name) + " in a subquery is the outer " + mig->cfg->table +
                   "'s legacy column",
               mig);
          return {};
        }
        if (std::find(inner_names.begin(), inner_names.end(), match->name) != inner_names.end()) {
          fail("an inner FROM item hides " + match->name, mig);
          return {};
        }
        return {mig, quote_ident(match->name) + "." + quote_ident(mig->cfg->unified_column), l, true};
      }
      for (const auto& it : l->items) {
        if (it.kind == Item::Kind::Columns && has_column(it, name)) return {};  // someone else's column
        if (it.kind != Item::Kind::Columns) uncertain = true;
        inner_names.push_back(it.name);
      }
    }
    return {};
  }

  //! A column reference outside a predicate: switched to legacy' when it
  //! reads a legacy column (`alias`: the output name a select-list entry keeps).
  void column(const JsonValue& cr, const Level& lv, const std::string& alias = {},
              uint32_t target_loc = static_cast<uint32_t>(-1)) {
    auto* fields = member(cr, "fields");
    if (fields && fields->IsArray() && fields->Size() == 1)
      if (auto* s = node((*fields)[0], "String"); s && !is_legacy_name(str_member(*s, "sval")))
        return whole_row(str_member(*s, "sval"), lv);
    auto r = resolve(cr, lv);
    if (r.migration) switch_column(cr, r, alias, target_loc);
  }

  // A whole-row reference (`SELECT o FROM orders o`, `row_to_json(o)`)
  // carries the legacy column without naming it.
  void whole_row(std::string_view name, const Level& lv) {
    if (is_legacy_name(name)) return;  // a column of that name wins
    if (const Item* it = find_item(name, lv); it && it->kind == Item::Kind::Migrated)
      fail("a whole-row reference to migrated table " + it->migs.front()->cfg->table, it->migs.front());
  }


  // ---- edits -------------------------------------------------------------------------
  //! Token index of the ColumnRef at byte `loc` and of its last field.
  std::optional<std::pair<int, int>> column_tokens(const JsonValue& cr) const {
    int first = token_at(static_cast<uint32_t>(int_member(cr, "location", -1)));
    auto* fields = member(cr, "fields");
    if (first < 0 || !fields || !fields->IsArray()) return std::nullopt;
    int last = first + 2 * (static_cast<int>(fields->Size()) - 1);
    if (last >= static_cast<int>(toks_.size())) return std::nullopt;
    for (int k = first; k <= last; ++k) {
      bool name_pos = (k - first) % 2 == 0;
      auto kind = toks_[k].kind;
      if (name_pos ? (kind != TokenKind::Word && kind != TokenKind::QuotedIdent) : kind != TokenKind::Dot)
        return std::nullopt;
    }
    return std::make_pair(first, last);
  }

  void switch_column(const JsonValue& cr, const Resolution& r, const std::string& alias = {},
                     uint32_t target_loc = static_cast<uint32_t>(-1)) {
    auto span = column_tokens(cr);
    if (!span) return fail("cannot locate a reference to the legacy column", r.migration);
    uint32_t begin = toks_[span->first].begin, end = toks_[span->second].end;
    auto legacy = std::string(sql_.substr(begin, end - begin));
    // In parentheses: legacy' stands wherever a column could, `(...)[1]` and `(...).x` included.
    std::string text = "(" + r.migration->reverse.legacy_view(r.unified, legacy, quote_literal) + ")";
    if (!alias.empty()) {
      int t = token_at(target_loc);
      if (t == span->first) {
        text += alias;
      } else if (t >= 0 && toks_[t].kind == TokenKind::LParen) {
        // `SELECT (status)`: the name goes after the parentheses.
        int close = matching_paren(t);
        if (close < 0) return fail("cannot locate the end of a select-list entry", r.migration);
        add_edit({toks_[close].end, 0, alias});
      } else {
        return fail("cannot locate a select-list entry", r.migration);
      }
    }
    add_edit({begin, end - begin, std::move(text)}, r.migration);
  }

  // ---- predicates ----------------------------------------------------------------------
  // In a WHERE, ON or HAVING clause reached through AND/OR only, NULL and
  // false filter alike, so a comparison of the legacy column with literals
  // can become a test of the unified column against the preimage, which an
  // index on the unified column serves:
  //   (u IN (T) OR ((u IS NULL OR u NOT IN (K)) AND <original>))
  // T: unified values whose reverse satisfies the comparison; K: all that
  // have a reverse; the second arm is the `unreversible` policy (the stored
  // legacy value, or NULL).
  bool predicate(std::string_view type, const JsonValue& n, const Level& lv) {
    const JsonValue* col = nullptr;
    std::function<bool(std::string_view)> holds;
    std::optional<bool> on_null;  // the comparison's value for a NULL legacy' (nullopt: NULL)
    int end_tok = -1;
    if (type == "NullTest") {
      auto* arg = member(n, "arg");
      col = arg ? node(*arg, "ColumnRef") : nullptr;
      bool is_null = str_member(n, "nulltesttype") == "IS_NULL";
      holds = [is_null](std::string_view) { return !is_null; };
      on_null = is_null;
      end_tok = token_at(static_cast<uint32_t>(int_member(n, "location", -1)));
      if (end_tok < 0) return false;
      // IS [NOT] NULL, or the postfix ISNULL / NOTNULL
      if (is_keyword(sql_, toks_[end_tok], "IS")) {
        end_tok += is_null ? 1 : 2;
        if (end_tok >= static_cast<int>(toks_.size()) || !is_keyword(sql_, toks_[end_tok], "NULL")) return false;
      }
    } else {
      auto kind = str_member(n, "kind");
      auto* name = member(n, "name");
      if (!name || !name->IsArray() || name->Size() != 1) return false;
      auto* op_node = node((*name)[0], "String");
      auto op = op_node ? str_member(*op_node, "sval") : std::string_view();
      auto* l = member(n, "lexpr");
      auto* r = member(n, "rexpr");
      col = l ? node(*l, "ColumnRef") : nullptr;
      if (!col || !r) return false;
      if (kind == "AEXPR_OP" && (op == "=" || op == "<>")) {
        auto v = const_text(*r);
        if (!v) return false;
        bool eq = op == "=";
        holds = [v = *v, eq](std::string_view legacy) { return (legacy == v) == eq; };
        end_tok = const_last_token(*r);
      } else if (kind == "AEXPR_IN" && (op == "=" || op == "<>")) {
        if (auto* list = node(*r, "List")) r = member(*list, "items");
        if (!r || !r->IsArray()) return false;
        std::vector<std::string> values;
        for (const auto& e : r->GetArray()) {
          auto v = const_text(e);
          if (!v) return false;  // NULL in the list, or an expression
          values.push_back(*v);
        }
        bool in = op == "=";
        holds = [values, in](std::string_view legacy) {
          return (std::find(values.begin(), values.end(), legacy) != values.end()) == in;
        };
        if (r->Empty()) return false;
        int last_value = const_last_token((*r)[r->Size() - 1]);
        if (last_value < 0 || last_value + 1 >= static_cast<int>(toks_.size()) ||
            toks_[last_value + 1].kind != TokenKind::RParen)
          return false;
        end_tok = last_value + 1;
      } else if (kind == "AEXPR_LIKE" && (op == "~~" || op == "!~~")) {
        auto* c = node(*r, "A_Const");
        auto* s = c ? member(*c, "sval") : nullptr;
        if (!s) return false;
        auto pattern = std::string(str_member(*s, "sval"));
        bool like = op == "~~";
        holds = [pattern, like](std::string_view legacy) { return sql_like(legacy, pattern).value_or(false) == like; };
        if (!sql_like("", pattern)) return false;  // let the server refuse the pattern
        end_tok = const_last_token(*r);
      } else {
        return false;
      }
    }
    if (!col || end_tok < 0) return false;
    auto span = column_tokens(*col);
    if (!span) return false;
    // The predicate must be exactly `column <op> ...`: a parenthesised
    // column, or anything between, keeps the CASE form.
    uint32_t op_at = static_cast<uint32_t>(int_member(n, "location", -1));
    if (span->second + 1 >= static_cast<int>(toks_.size()) || toks_[span->second + 1].begin != op_at) {
      // IN/LIKE: the location is the keyword (or NOT before it)
      if (type == "NullTest" || span->second + 1 >= static_cast<int>(toks_.size())) return false;
      const auto& next = toks_[span->second + 1];
      if (!(is_keyword(sql_, next, "IN") || is_keyword(sql_, next, "NOT") || is_keyword(sql_, next, "LIKE")))
        return false;
    }
    auto r = resolve(*col, lv);
    if (!r.migration) return true;  // not ours, or reported: nothing inside needs a walk
    const auto& rev = r.migration->reverse;
    auto hits = rev.preimage(holds);
    std::vector<std::string> keys;
    for (const auto& e : rev.entries()) keys.push_back(e.first);
    uint32_t begin = toks_[span->first].begin, end = toks_[end_tok].end;
    auto original = std::string(sql_.substr(begin, end - begin));
    auto list = [](const std::vector<std::string>& vs) {
      std::string out;
      for (const auto& v : vs) out += (out.empty() ? "" : ", ") + quote_literal(v);
      return out;
    };
    std::vector<std::string> arms;
    if (!hits.empty()) arms.push_back(r.unified + " IN (" + list(hits) + ")");
    std::string unreversible = "(" + r.unified + " IS NULL OR " + r.unified + " NOT IN (" + list(keys) + "))";
    if (rev.unreversible() == config::Unreversible::Legacy) arms.push_back("(" + unreversible + " AND " + original + ")");
    else if (on_null.value_or(false)) arms.push_back(unreversible);
    std::string text = "(";
    for (size_t k = 0; k < arms.size(); ++k) text += (k ? " OR " : "") + arms[k];
    text += arms.empty() ? "false)" : ")";
    // Under `null` the preimage alone drops the client's predicate, and with
    // it the errors the server would raise for it: a literal that is no value
    // of an enum, an unqualified name that is ambiguous in a join. It stays,
    // where the planner folds it away (`x OR true` is true), so it costs
    // nothing at run time and the index condition is unchanged.
    if (rev.unreversible() == config::Unreversible::Null) text = "(" + text + " AND ((" + original + ") IS NULL OR true))";
    add_edit({begin, end - begin, std::move(text)}, r.migration);
    return true;
  }

  int const_last_token(const JsonValue& v) const {
    auto* c = node(v, "A_Const");
    if (!c) return -1;
    int t = token_at(static_cast<uint32_t>(int_member(*c, "location", -1)));
    if (t < 0) return -1;
    // 'a' 'b' on two lines is one constant: keep the CASE form for it.
    if (t + 1 < static_cast<int>(toks_.size()) && toks_[t].kind == TokenKind::String &&
        toks_[t + 1].kind == TokenKind::String)
      return -1;
    return t;
  }

  // ---- the generic walk ---------------------------------------------------------------
  //! `filter`: the value is a boolean condition where NULL counts as false
  //! (WHERE, ON, HAVING, through AND/OR).
  void walk(const JsonValue& v, const Level& lv, bool filter) {
    if (!result_.unsupported.empty()) return;
    if (v.IsArray()) {
      for (const auto& e : v.GetArray()) walk(e, lv, false);
      return;
    }
    if (!v.IsObject()) return;
    if (v.MemberCount() == 1) {
      const auto& only = *v.MemberBegin();
      std::string_view type(only.name.GetString(), only.name.GetStringLength());
      if (!type.empty() && type[0] >= 'A' && type[0] <= 'Z') return dispatch(type, only.value, lv, filter);
    }
    for (const auto& m : v.GetObject()) walk(m.value, lv, false);
  }

  void dispatch(std::string_view type, const JsonValue& n, const Level& lv, bool filter) {
    if (type == "ColumnRef") return column(n, lv);
    if (type == "SubLink") {
      if (auto* t = member(n, "testexpr")) walk(*t, lv, false);
      if (auto* sub = member(n, "subselect"))
        if (auto* s = node(*sub, "SelectStmt")) select(*s, &lv, str_member(n, "subLinkType") == "EXISTS_SUBLINK");
      return;
    }
    if (type == "SelectStmt") {
      select(n, &lv);
      return;
    }
    if (type == "BoolExpr") {
      auto op = str_member(n, "boolop");
      bool keeps = filter && (op == "AND_EXPR" || op == "OR_EXPR");
      if (auto* args = member(n, "args"); args && args->IsArray())
        for (const auto& a : args->GetArray()) walk(a, lv, keeps);
      return;
    }
    if (filter && (type == "A_Expr" || type == "NullTest") && predicate(type, n, lv)) return;
    for (const auto& m : n.GetObject()) walk(m.value, lv, false);
  }

  bool is_legacy_name(std::string_view name) const {
    for (const auto& m : ms_.all())
      if (m.cfg->legacy_column == name) return true;
    return false;
  }

  // ---- bookkeeping ---------------------------------------------------------------------
  void add_edit(Edit e, const CompiledMigration* m = nullptr) {
    result_.edits.push_back(std::move(e));
    if (!m) return;
    if (projecting_ >= 0) shape_.status_outputs.push_back({static_cast<size_t>(projecting_), m->cfg->name});
    else add_unique(shape_.read_elsewhere, m->cfg->name);
    for (const auto& ev : result_.events)
      if (ev.migration == m->cfg->name) return;
    MigrationEvent ev;
    ev.migration = m->cfg->name;
    ev.table = m->cfg->table;
    ev.outcome = Outcome::ReadSwitched;
    result_.events.push_back(std::move(ev));
  }

  void fail(std::string why, const CompiledMigration* m) {
    if (!result_.unsupported.empty()) return;
    result_.unsupported = std::move(why);
    result_.unsupported_migration = m;
  }

  int token_at(uint32_t offset) const {
    if (offset == static_cast<uint32_t>(-1)) return -1;
    auto it = std::lower_bound(toks_.begin(), toks_.end(), offset,
                               [](const Token& t, uint32_t off) { return t.begin < off; });
    if (it == toks_.end() || it->begin != offset || it->begin >= limit_) return -1;
    return static_cast<int>(it - toks_.begin());
  }

  int matching_paren(int open) const {
    int depth = 0;
    for (int k = open; k < static_cast<int>(toks_.size()) && toks_[k].begin < limit_; ++k) {
      if (toks_[k].kind == TokenKind::LParen) ++depth;
      else if (toks_[k].kind == TokenKind::RParen && --depth == 0) return k;
    }
    return -1;
  }

  std::string_view sql_;
  const std::vector<Token>& toks_;
  uint32_t limit_;
  const MigrationSet& ms_;
  Phase phase_;
  ReadSwitchResult result_;
  // For the comparator (ReadShape): the statement's own SELECT, its level
  // while walked, and the select-list position being switched (-1: none).
  const JsonValue* top_select_ = nullptr;
  const Level* top_ = nullptr;
  int projecting_ = -1;
  ReadShape shape_;
};

// One pattern element of LIKE: `%`, `_`, or a literal character.
struct LikeElem {
  enum Kind { Any, One, Lit } kind;
  std::string_view ch;
};

size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1; }

std::vector<std::string_view> utf8_chars(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = std::min(utf8_len(static_cast<unsigned char>(s[i])), s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

std::optional<bool> sql_like(std::string_view value, std::string_view pattern) {
  std::vector<LikeElem> elems;
  auto chars = utf8_chars(pattern);
  for (size_t i = 0; i < chars.size(); ++i) {
    if (chars[i] == "\\") {
      if (i + 1 == chars.size()) return std::nullopt;  // "LIKE pattern must not end with escape character"
      elems.push_back({LikeElem::Lit, chars[++i]});
    } else if (chars[i] == "%") {
      elems.push_back({LikeElem::Any, {}});
    } else if (chars[i] == "_") {
      elems.push_back({LikeElem::One, {}});
    } else {
      elems.push_back({LikeElem::Lit, chars[i]});
    }
  }
  auto text = utf8_chars(value);
  // can[j]: the text read so far matches the first j elements.
  std::vector<char> can(elems.size() + 1, 0), next(elems.size() + 1, 0);
  can[0] = 1;
  for (size_t j = 0; j < elems.size(); ++j) can[j + 1] = can[j] && elems[j].kind == LikeElem::Any;
  for (const auto& c : text) {
    next[0] = 0;
    for (size_t j = 0; j < elems.size(); ++j) {
      const auto& e = elems[j];
      if (e.kind == LikeElem::Any) next[j + 1] = can[j + 1] || next[j];  // % takes c, or matches empty here
      else next[j + 1] = can[j] && (e.kind == LikeElem::One || e.ch == c);
    }
    can.swap(next);
  }
  return can[elems.size()] != 0;
}

ReadSwitchResult switch_reads(const JsonValue& stmt, std::string_view sql, const std::vector<Token>& toks,
                              uint32_t limit, const MigrationSet& migrations, Phase phase) {
  if (phase != Phase::ReadSwitch && phase != Phase::Cleanup) return {};
  return Switcher(sql, toks, limit, migrations, phase).run(stmt);
}

}  // namespace sy::rewrite
