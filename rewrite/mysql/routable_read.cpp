#include "rewrite/mysql/routable_read.h"

#include <algorithm>
#include <array>
#include <string>

#include "rewrite/sql_lexer.h"
#include "rewrite/sql_text.h"

namespace sy::rewrite {

namespace {

// Built-ins whose answer depends only on their arguments, the data and the
// session's replayed settings (time_zone, sql_mode, character sets), never
// on the server, the login or earlier statements. Sorted for binary search.
// Types that take a length (CHAR(10), DECIMAL(10,2) in CAST) are here too:
// as functions they are just as deterministic.
constexpr std::array<std::string_view, 213> kBuiltins = {
    "abs", "acos", "adddate", "addtime", "against", "any_value", "asin", "atan", "atan2", "avg", "bin", "binary",
    "bit_and", "bit_count", "bit_length", "bit_or", "bit_xor", "cast", "ceil", "ceiling", "char", "char_length",
    "character_length", "coalesce", "concat", "concat_ws", "conv", "convert", "convert_tz", "cos", "cot", "count",
    "crc32", "cume_dist", "curdate", "current_date", "current_time", "current_timestamp", "curtime", "date",
    "date_add", "date_format", "date_sub", "datediff", "datetime", "day", "dayname", "dayofmonth", "dayofweek",
    "dayofyear", "dec", "decimal", "degrees", "dense_rank", "double", "elt", "exp", "export_set", "extract",
    "field", "find_in_set", "first_value", "float", "floor", "format", "from_base64", "from_days",
    "from_unixtime", "greatest", "group_concat", "hex", "hour", "if", "ifnull", "inet6_aton", "inet6_ntoa",
    "inet_aton", "inet_ntoa", "insert", "instr", "isnull", "json_array", "json_arrayagg", "json_contains",
    "json_contains_path", "json_depth", "json_extract", "json_keys", "json_length", "json_merge_patch",
    "json_merge_preserve", "json_object", "json_objectagg", "json_quote", "json_search", "json_type",
    "json_unquote", "json_valid", "json_value", "lag", "last_day", "last_value", "lcase", "lead", "least", "left",
    "length", "ln", "localtime", "localtimestamp", "locate", "log", "log10", "log2", "lower", "lpad", "ltrim",
    "make_set", "makedate", "maketime", "match", "max", "md5", "microsecond", "mid", "min", "minute", "mod",
    "month", "monthname", "nchar", "now", "nth_value", "ntile", "nullif", "numeric", "oct", "octet_length", "ord",
    "percent_rank", "period_add", "period_diff", "pi", "position", "pow", "power", "quarter", "quote",
    "radians", "rank", "regexp_instr", "regexp_like", "regexp_replace", "regexp_substr", "repeat", "replace",
    "reverse", "right", "round", "row_number", "rpad", "rtrim", "sec_to_time", "second", "sha", "sha1", "sha2",
    "sign", "sin", "soundex", "space", "sqrt", "std", "stddev", "stddev_pop", "stddev_samp", "str_to_date",
    "strcmp", "subdate", "substr", "substring", "substring_index", "subtime", "sum", "tan", "time",
    "time_format", "time_to_sec", "timediff", "timestamp", "timestampadd", "timestampdiff", "to_base64",
    "to_days", "to_seconds", "trim", "truncate", "ucase", "unhex", "unix_timestamp", "upper", "utc_date",
    "utc_time", "utc_timestamp", "var_pop", "var_samp", "varchar", "variance", "week", "weekday", "weekofyear",
    "year", "yearweek"};
static_assert(std::is_sorted(kBuiltins.begin(), kBuiltins.end()), "binary search needs kBuiltins sorted");

// Keywords that may stand before a parenthesis without calling anything.
constexpr std::array<std::string_view, 45> kNotCalls = {
    "ALL",   "AND",      "ANY",    "AS",      "BETWEEN", "BY",        "CASE",    "DISTINCT", "DIV",
    "ELSE",  "EXCEPT",   "EXISTS", "FORCE",   "FROM",    "GROUP",     "HAVING",  "IGNORE",   "IN",
    "INDEX", "INTERSECT", "INTERVAL", "IS",   "JOIN",    "KEY",       "LATERAL", "LIKE",     "LIMIT",
    "NOT",   "OFFSET",   "ON",     "OR",      "ORDER",   "OVER",      "PARTITION", "RECURSIVE", "REGEXP",
    "RLIKE", "ROW",      "SELECT", "SOME",    "THEN",    "UNION",     "USING",   "WHEN",     "WHERE"};

constexpr std::array<std::string_view, 4> kServerSchemas = {"information_schema", "mysql", "performance_schema",
                                                             "sys"};

constexpr std::array<std::string_view, 4> kIdentity = {"CURRENT_ROLE", "CURRENT_USER", "SESSION_USER",
                                                        "SYSTEM_USER"};

template <size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

class Statement {
 public:
  Statement(std::string_view sql, const std::vector<Token>& toks, size_t first, size_t end,
            const FunctionAllowList& allowed)
      : sql_(sql), toks_(toks), first_(first), end_(end), allowed_(allowed) {}

  std::string why() {
    size_t k = first_;
    while (k < end_ && toks_[k].kind == TokenKind::LParen) ++k;
    if (k == end_ || toks_[k].kind != TokenKind::Word) return "not a plain read (SELECT, WITH, VALUES or TABLE)";
    auto lead = word(k);
    if (lead != "SELECT" && lead != "WITH" && lead != "VALUES" && lead != "TABLE")
      return "not a plain read (SELECT, WITH, VALUES or TABLE)";
    for (k = first_; k < end_; ++k)
      if (auto w = token(k); !w.empty()) return w;
    return {};
  }

 private:
  std::string word(size_t k) const {
    const auto& t = toks_[k];
    return upper(sql_.substr(t.begin, t.end - t.begin));
  }
  bool is(size_t k, TokenKind kind) const { return k < end_ && toks_[k].kind == kind; }
  bool word_is(size_t k, std::string_view w) const { return is(k, TokenKind::Word) && word(k) == w; }
  // A name as written, backticks taken off.
  std::string name(size_t k) const {
    const auto& t = toks_[k];
    auto text = sql_.substr(t.begin, t.end - t.begin);
    if (t.kind == TokenKind::QuotedIdent && text.size() >= 2) text = text.substr(1, text.size() - 2);
    return ascii_lower(text);
  }

  std::string token(size_t k) {
    const auto& t = toks_[k];
    if (t.kind == TokenKind::Opaque) return "an executable comment (/*! */) is not read";
    if (t.kind == TokenKind::Operator && sql_.substr(t.begin, t.end - t.begin).find('@') != std::string_view::npos)
      return "a user or system variable (@x, @@x)";
    if (t.kind != TokenKind::Word && t.kind != TokenKind::QuotedIdent) return {};
    // schema.table (or schema.function): the server's own schemas.
    const bool after_dot = k > first_ && is(k - 1, TokenKind::Dot);
    if (is(k + 1, TokenKind::Dot) && !after_dot && in(kServerSchemas, name(k)))
      return "schema " + name(k) + " describes this server";
    if (t.kind != TokenKind::Word) return {};
    const auto w = word(k);
    if (is(k + 1, TokenKind::LParen) && !in(kNotCalls, w)) return call(k);
    if (w == "FOR" && (word_is(k + 1, "UPDATE") || word_is(k + 1, "SHARE")))
      return "a locking read (FOR UPDATE / FOR SHARE) takes row locks on the primary";
    if (w == "LOCK" && word_is(k + 1, "IN")) return "a locking read (LOCK IN SHARE MODE) takes row locks on the primary";
    if (w == "INTO") return "SELECT ... INTO writes a file or variables";
    if (w == "PROCEDURE") return "PROCEDURE ANALYSE";
    if (w == "SQL_CALC_FOUND_ROWS") return "SQL_CALC_FOUND_ROWS: FOUND_ROWS() must then ask the primary";
    if ((w == "NEXT" || w == "PREVIOUS") && word_is(k + 1, "VALUE")) return "a sequence's NEXT/PREVIOUS VALUE FOR";
    if (in(kIdentity, w)) return ascii_lower(w) + " names the read target's login, not the client's";
    if (w == "INSERT" || w == "UPDATE" || w == "DELETE" || w == "REPLACE")
      return "a data-modifying statement (" + w + ")";
    return {};
  }

  std::string call(size_t k) {
    std::string fn = name(k);
    if (k > first_ && is(k - 1, TokenKind::Dot)) {
      // db.fn(...): a stored function, allowed only by its qualified name.
      std::string qualified = k >= first_ + 2 ? name(k - 2) + "." + fn : fn;
      if (allowed_.count(qualified)) return {};
      return "function " + qualified + " is not on the allow-list";
    }
    if (allowed_.count(fn) || mysql_builtin_routable_function(fn)) return {};
    return "function " + fn + " is not on the allow-list";
  }

  std::string_view sql_;
  const std::vector<Token>& toks_;
  size_t first_, end_;
  const FunctionAllowList& allowed_;
};

}  // namespace

bool mysql_builtin_routable_function(std::string_view name) {
  return std::binary_search(kBuiltins.begin(), kBuiltins.end(), name);
}

RouteVerdict mysql_routable_read(std::string_view sql, const FunctionAllowList& allowed) {
  auto toks = lex_sql(sql, Dialect::Mysql);
  bool any = false;
  for (size_t i = 0; i < toks.size();) {
    size_t end = i;
    while (end < toks.size() && toks[end].kind != TokenKind::Semicolon) ++end;
    if (end > i) {
      any = true;
      if (auto why = Statement(sql, toks, i, end, allowed).why(); !why.empty()) return {why};
    }
    i = end + 1;
  }
  if (!any) return {"no statement"};
  return {};
}

}  // namespace sy::rewrite
