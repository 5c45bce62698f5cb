#include "protocol/common/sql_scan.h"

#include <cctype>
#include <utility>

namespace sy::proto {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
}  // namespace

std::vector<std::string_view> split_statements(std::string_view sql, Dialect dialect) {
  std::vector<std::string_view> out;
  auto toks = rewrite::lex_sql(sql, dialect);
  size_t first = 0;  // index of the first token of the current statement
  // A semicolon inside parentheses (a function body in $$ is one String token
  // already) does not end a statement; BEGIN ... END blocks of MySQL routines
  // are not modelled: their statements then count as top-level ones.
  int depth = 0;
  auto flush = [&](size_t last_excl) {
    if (last_excl > first) {
      size_t b = toks[first].begin, e = toks[last_excl - 1].end;
      out.push_back(trim(sql.substr(b, e - b)));
    }
  };
  for (size_t i = 0; i < toks.size(); ++i) {
    if (toks[i].kind == TokenKind::LParen) ++depth;
    if (toks[i].kind == TokenKind::RParen && depth > 0) --depth;
    if (toks[i].kind == TokenKind::Semicolon && depth == 0) {
      flush(i);
      first = i + 1;
    }
  }
  flush(toks.size());
  return out;
}

std::vector<std::string> name_list(const Lexed& l, size_t i, NameReader read) {
  std::vector<std::string> names;
  for (;;) {
    size_t next = i;
    auto name = read(l, i, next);
    if (name.empty()) break;
    names.push_back(std::move(name));
    if (!l.is(next, TokenKind::Comma)) break;
    i = next + 1;
  }
  return names;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string unquote_ident(std::string_view t) {
  if (t.size() < 2) return std::string(t);
  char q = t.front();
  std::string out;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    out.push_back(t[i]);
    if (t[i] == q && i + 2 < t.size() && t[i + 1] == q) ++i;
  }
  return out;
}

}  // namespace sy::proto
