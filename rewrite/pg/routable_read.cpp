#include "rewrite/pg/routable_read.h"

#include <algorithm>
#include <array>

#include "rewrite/sql_text.h"

namespace sy::rewrite {

namespace {

// Built-ins that are immutable or stable (no writes, no locks, the same
// answer within a statement) and whose answer depends only on their
// arguments, the data and the session's replayed settings (TimeZone,
// DateStyle, search_path), never on which server runs them. Kept sorted for
// binary search. Deliberately absent: volatile functions (random,
// clock_timestamp, gen_random_uuid, nextval, setval, currval, lastval,
// txid_current), lock and setting functions (pg_advisory_*, set_config),
// anything that reads the server or the login (current_setting,
// pg_backend_pid, inet_server_addr, version, has_*_privilege, pg_has_role,
// pg_stat_*, pg_relation_size, to_regclass and other object-id lookups).
constexpr std::array<std::string_view, 226> kBuiltins = {
    "abs", "acos", "age", "any_value", "array_agg", "array_append", "array_cat", "array_dims",
    "array_length", "array_lower", "array_ndims", "array_position", "array_positions", "array_prepend",
    "array_remove", "array_replace", "array_to_json", "array_to_string", "array_upper", "ascii", "asin",
    "atan", "atan2", "avg", "bit_and", "bit_length", "bit_or", "bit_xor", "bool_and", "bool_or", "btrim",
    "cardinality", "cbrt", "ceil", "ceiling", "char_length", "character_length", "chr", "coalesce", "concat",
    "concat_ws", "convert_from", "convert_to", "corr", "cos", "count", "covar_pop", "covar_samp",
    "cume_dist", "date", "date_bin", "date_part", "date_trunc", "decode", "degrees", "dense_rank", "div",
    "encode", "every", "exp", "extract", "factorial", "first_value", "floor", "format", "gcd",
    "generate_series", "generate_subscripts", "greatest", "initcap", "isfinite", "json_agg",
    "json_array_elements", "json_array_elements_text", "json_array_length", "json_build_array",
    "json_build_object", "json_each", "json_each_text", "json_extract_path", "json_extract_path_text",
    "json_object", "json_object_agg", "json_object_keys", "json_strip_nulls", "json_typeof",
    "jsonb_agg", "jsonb_array_elements", "jsonb_array_elements_text", "jsonb_array_length",
    "jsonb_build_array", "jsonb_build_object", "jsonb_each", "jsonb_each_text", "jsonb_extract_path",
    "jsonb_extract_path_text", "jsonb_object", "jsonb_object_agg", "jsonb_object_keys", "jsonb_path_exists",
    "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
    "jsonb_pretty", "jsonb_set", "jsonb_strip_nulls", "jsonb_typeof", "justify_days", "justify_hours",
    "justify_interval", "lag", "last_value", "lcm", "lead", "least", "left", "length", "ln", "localtime",
    "localtimestamp", "log", "log10", "lower", "lpad", "ltrim", "make_date", "make_interval", "make_time",
    "make_timestamp", "make_timestamptz", "max", "md5", "min", "min_scale", "mod", "mode", "normalize",
    "now", "nth_value", "ntile", "nullif", "num_nonnulls", "num_nulls", "octet_length", "overlay",
    "percent_rank", "percentile_cont", "percentile_disc", "pi", "position", "power", "quote_ident",
    "quote_literal", "quote_nullable", "radians", "rank", "regexp_count", "regexp_instr", "regexp_like",
    "regexp_match", "regexp_matches", "regexp_replace", "regexp_split_to_array", "regexp_split_to_table",
    "regexp_substr", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope",
    "repeat", "replace", "reverse", "right", "round", "row_number", "row_to_json", "rpad", "rtrim", "scale",
    "sha224", "sha256", "sha384", "sha512", "sign", "sin", "split_part", "sqrt", "starts_with",
    "statement_timestamp", "stddev", "stddev_pop", "stddev_samp", "string_agg", "string_to_array",
    "string_to_table", "strpos", "substr", "substring", "sum", "tan", "timezone", "to_ascii", "to_char",
    "to_date", "to_hex", "to_json", "to_jsonb", "to_number", "to_timestamp", "transaction_timestamp",
    "translate", "trim_array", "trim_scale", "trunc", "unistr", "unnest", "upper", "var_pop", "var_samp",
    "variance", "width_bucket", "xmlagg", "xmlconcat"};

static_assert(std::is_sorted(kBuiltins.begin(), kBuiltins.end()), "binary search needs kBuiltins sorted");

constexpr std::array<std::string_view, 6> kSystemColumns = {"cmax", "cmin", "ctid", "tableoid", "xmax", "xmin"};

constexpr std::array<std::string_view, 5> kDataModifying = {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                                                             "CallStmt"};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The dotted name of a list of String nodes ("pg_catalog.lower"), or empty
// when an element is not a String.
std::string dotted(const JsonValue* names) {
  std::string out;
  if (!names || !names->IsArray()) return out;
  for (const auto& n : names->GetArray()) {
    auto* s = node(n, "String");
    if (!s) return {};
    if (!out.empty()) out.push_back('.');
    out.append(str_member(*s, "sval"));
  }
  return out;
}

class Walker {
 public:
  explicit Walker(const FunctionAllowList& allowed) : allowed_(allowed) {}

  // Every node below `v`; the first reason found wins.
  void walk(const JsonValue& v) {
    if (!why_.empty()) return;
    if (v.IsArray()) {
      for (const auto& e : v.GetArray()) walk(e);
      return;
    }
    if (!v.IsObject()) return;
    // A set operation's arms (larg, rarg) are SelectStmts without the
    // {"SelectStmt": ...} wrapper, so these are looked for on every object.
    select(v);
    for (const auto& m : v.GetObject()) {
      if (!why_.empty()) return;
      visit(m.name.GetString(), m.value);
      walk(m.value);
    }
  }

  std::string why_;

 private:
  void visit(std::string_view key, const JsonValue& v) {
    if (std::find(kDataModifying.begin(), kDataModifying.end(), key) != kDataModifying.end())
      return fail("a data-modifying statement inside the read");
    if (key == "FuncCall") return function(v);
    if (key == "SQLValueFunction") return value_function(v);
    if (key == "RangeVar") return relation(v);
    if (key == "ColumnRef") return column(v);
    if (key == "TypeCast") return cast(v);
    if (key == "RangeTableSample") return fail("TABLESAMPLE follows this server's physical layout");
  }

  // Whatever SelectStmt `s` is (or any object: only a SelectStmt has these).
  void select(const JsonValue& s) {
    if (member(s, "intoClause")) return fail("SELECT ... INTO creates a table");
    if (auto* l = member(s, "lockingClause"); l && l->IsArray() && !l->Empty())
      return fail("a locking clause (FOR UPDATE / SHARE) takes row locks on the primary");
  }

  void function(const JsonValue& call) {
    auto name = ascii_lower(dotted(member(call, "funcname")));
    if (name.empty()) return fail("a function whose name cannot be read");
    if (allowed_.count(name)) return;
    std::string_view bare = name;
    if (auto dot = bare.rfind('.'); dot != std::string_view::npos) {
      // Only pg_catalog's own functions are the built-ins (the grammar
      // writes EXTRACT, SUBSTRING, TRIM, POSITION and AT TIME ZONE so).
      if (bare.substr(0, dot) != "pg_catalog") return fail("function " + name + " is not on the allow-list");
      bare = bare.substr(dot + 1);
      if (allowed_.count(bare)) return;
    }
    if (!pg_builtin_routable_function(bare)) return fail("function " + name + " is not on the allow-list");
  }

  void value_function(const JsonValue& f) {
    auto op = str_member(f, "op");
    if (op == "SVFOP_CURRENT_USER" || op == "SVFOP_SESSION_USER" || op == "SVFOP_USER" ||
        op == "SVFOP_CURRENT_ROLE")
      fail("current_user and its kin name the read target's login, not the client's");
  }

  void relation(const JsonValue& r) {
    auto schema = str_member(r, "schemaname");
    auto rel = str_member(r, "relname");
    if (starts_with(schema, "pg_") || schema == "information_schema" || starts_with(rel, "pg_"))
      fail("relation " + std::string(schema.empty() ? "" : std::string(schema) + ".") + std::string(rel) +
           " describes this server");
  }

  void column(const JsonValue& c) {
    auto* fields = member(c, "fields");
    if (!fields || !fields->IsArray() || fields->Empty()) return;
    auto* last = node((*fields)[fields->Size() - 1], "String");
    if (!last) return;  // `t.*`
    auto name = str_member(*last, "sval");
    if (std::find(kSystemColumns.begin(), kSystemColumns.end(), name) != kSystemColumns.end())
      fail("system column " + std::string(name) + " differs between servers");
  }

  void cast(const JsonValue& c) {
    auto* type = member(c, "typeName");
    if (!type) return;
    auto name = ascii_lower(dotted(member(*type, "names")));
    if (auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
    if (starts_with(name, "reg")) fail("a cast to " + name + " resolves this server's object ids");
  }

  void fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
  }

  const FunctionAllowList& allowed_;
};

}  // namespace

bool pg_builtin_routable_function(std::string_view name) {
  return std::binary_search(kBuiltins.begin(), kBuiltins.end(), name);
}

RouteVerdict pg_routable_statement(const JsonValue& stmt, const FunctionAllowList& allowed) {
  if (!node(stmt, "SelectStmt")) return {"not a plain read (SELECT, VALUES or TABLE)"};
  Walker w(allowed);
  w.walk(stmt);
  return {w.why_};
}

RouteVerdict pg_routable_read(std::string_view sql, const FunctionAllowList& allowed) {
  PgParse parse(sql);
  if (!parse.ok()) return {"does not parse: " + parse.error()};
  const auto& stmts = parse.statements();
  if (!stmts.IsArray() || stmts.Empty()) return {"no statement"};
  for (const auto& raw : stmts.GetArray()) {
    auto* stmt = member(raw, "stmt");
    if (!stmt) return {"no statement"};
    auto v = pg_routable_statement(*stmt, allowed);
    if (!v.routable()) return v;
  }
  return {};
}

}  // namespace sy::rewrite
