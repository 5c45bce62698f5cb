#include "rewrite/pg_parse.h"

#include <pg_query.h>

namespace sy::rewrite {

namespace {
const JsonValue& empty_array() {
  static const JsonValue empty(rapidjson::kArrayType);
  return empty;
}
}  // namespace

PgParse::PgParse(std::string_view sql) : sql_(sql) {
  auto* r = new PgQueryParseResult(pg_query_parse(sql_.c_str()));
  result_ = r;
  if (r->error) {
    error_ = r->error->message ? r->error->message : "parse error";
    error_pos_ = r->error->cursorpos;
    return;
  }
  doc_.ParseInsitu(r->parse_tree);
  if (doc_.HasParseError() || !doc_.IsObject()) error_ = "unreadable parse tree";
}

PgParse::~PgParse() {
  auto* r = static_cast<PgQueryParseResult*>(result_);
  pg_query_free_parse_result(*r);
  delete r;
}

const JsonValue& PgParse::statements() const {
  if (!ok()) return empty_array();
  auto it = doc_.FindMember("stmts");
  if (it == doc_.MemberEnd() || !it->value.IsArray()) return empty_array();
  return it->value;
}

const JsonValue* member(const JsonValue& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

const JsonValue* node(const JsonValue& wrapper, const char* type) { return member(wrapper, type); }

std::string_view str_member(const JsonValue& obj, const char* key) {
  auto* v = member(obj, key);
  if (!v || !v->IsString()) return {};
  return {v->GetString(), v->GetStringLength()};
}

int int_member(const JsonValue& obj, const char* key, int fallback) {
  auto* v = member(obj, key);
  return v && v->IsInt() ? v->GetInt() : fallback;
}

int statement_count(std::string_view sql, std::string* error) {
  std::string copy(sql);
  PgQuerySplitResult r = pg_query_split_with_parser(copy.c_str());
  int n = r.error ? -1 : r.n_stmts;
  if (r.error && error) *error = r.error->message ? r.error->message : "parse error";
  pg_query_free_split_result(r);
  return n;
}

std::string fingerprint(std::string_view sql) {
  std::string copy(sql);
  PgQueryFingerprintResult r = pg_query_fingerprint(copy.c_str());
  std::string out = r.error || !r.fingerprint_str ? "" : r.fingerprint_str;
  pg_query_free_fingerprint_result(r);
  return out;
}

}  // namespace sy::rewrite
