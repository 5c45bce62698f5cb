#include "rewrite/normalized_sql.h"

#include <pg_query.h>

namespace sy::rewrite {

namespace {
std::string lexed_form(std::string_view sql, Dialect dialect) {
  std::string out;
  out.reserve(sql.size());
  uint32_t copied = 0;
  for (const auto& t : lex_sql(sql, dialect)) {
    const char* replacement = t.kind == TokenKind::String || t.kind == TokenKind::Number ? "?"
                              : t.kind == TokenKind::Opaque                             ? "/*!…*/"
                                                                                        : nullptr;
    if (!replacement) continue;
    out.append(sql.substr(copied, t.begin - copied));
    out.append(replacement);
    copied = t.end;
  }
  out.append(sql.substr(copied));
  return out;
}
}  // namespace

std::string normalized_sql(std::string_view sql, Dialect dialect) {
  if (dialect == Dialect::Postgres) {
    std::string copy(sql);
    PgQueryNormalizeResult r = pg_query_normalize(copy.c_str());
    std::string out = r.error || !r.normalized_query ? lexed_form(sql, dialect) : std::string(r.normalized_query);
    pg_query_free_normalize_result(r);
    return out;
  }
  return lexed_form(sql, dialect);
}

}  // namespace sy::rewrite
