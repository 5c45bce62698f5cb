#include "rewrite/common/case_expression.h"

#include "rewrite/sql_text.h"

namespace sy::rewrite {

QuoteFn literal_quoter(Dialect dialect) { return dialect == Dialect::Mysql ? quote_mysql_literal : quote_literal; }

std::string case_expression(std::string_view subject, const std::vector<std::pair<std::string, std::string>>& map,
                            QuoteFn quote, std::string_view else_) {
  std::string out = "CASE ";
  out += subject;
  for (const auto& [legacy, unified] : map) out += " WHEN " + quote(legacy) + " THEN " + quote(unified);
  if (!else_.empty()) {
    out += " ELSE ";
    out += else_;
  }
  return out + " END";
}

}  // namespace sy::rewrite
