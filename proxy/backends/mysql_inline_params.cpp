#include "proxy/backends/mysql_inline_params.h"

#include <mysql.h>

#include "rewrite/sql_lexer.h"

namespace sy::proxy {

bool plain_number(const std::string& s) {
  size_t i = 0;
  auto digits = [&] {
    size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

InlinedSql inline_params(MYSQL* m, const std::string& sql, const std::vector<std::optional<std::string>>& params,
                         const std::vector<bool>& numbers) {
  InlinedSql out;
  size_t next = 0, copied = 0;
  std::string literal;
  for (const auto& tok : rewrite::lex_sql(sql, rewrite::Dialect::Mysql)) {
    if (tok.kind != rewrite::TokenKind::Param) continue;
    if (next == params.size()) {
      return InlinedSql{{}, "the statement has more placeholders than the " + std::to_string(params.size()) +
                                " parameters given"};
    }
    out.sql.append(sql, copied, tok.begin - copied);
    copied = tok.end;
    const auto& p = params[next++];
    if (!p) {
      out.sql += "NULL";
      continue;
    }
    if (next - 1 < numbers.size() && numbers[next - 1] && plain_number(*p)) {
      // A space keeps `-` after an operator from forming `--` (a comment).
      out.sql.append(1, ' ').append(*p).append(1, ' ');
      continue;
    }
    literal.resize(p->size() * 2 + 1);
    unsigned long n = mysql_real_escape_string(m, literal.data(), p->data(), p->size());
    if (n == static_cast<unsigned long>(-1)) {
      return InlinedSql{{}, "parameter " + std::to_string(next) + " cannot be escaped in the connection's character set"};
    }
    out.sql.append(1, '\'').append(literal, 0, n).append(1, '\'');
  }
  if (next != params.size()) {
    return InlinedSql{{}, "the statement has " + std::to_string(next) + " placeholders but " +
                              std::to_string(params.size()) + " parameters were given"};
  }
  out.sql.append(sql, copied);
  return out;
}

}  // namespace sy::proxy
