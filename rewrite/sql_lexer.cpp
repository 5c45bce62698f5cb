#include "rewrite/sql_lexer.h"

#include <algorithm>
#include <cctype>

namespace sy::rewrite {

namespace {

bool ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

// Position just past a quoted run starting at `i` (which holds the quote).
// `backslash` makes \x an escape, as in E'' strings.
size_t skip_quoted(std::string_view s, size_t i, char quote, bool backslash) {
  ++i;
  while (i < s.size()) {
    char c = s[i];
    if (backslash && c == '\\') {
      i += 2;
      continue;
    }
    if (c == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        i += 2;  // doubled quote
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return s.size();
}

// $tag$...$tag$; returns npos if `i` does not start a dollar-quote delimiter.
size_t skip_dollar_quoted(std::string_view s, size_t i) {
  size_t j = i + 1;
  while (j < s.size() && s[j] != '$') {
    auto c = static_cast<unsigned char>(s[j]);
    if (!(std::isalnum(c) || c == '_' || c >= 0x80) || (j == i + 1 && std::isdigit(c))) return std::string_view::npos;
    ++j;
  }
  if (j >= s.size()) return std::string_view::npos;
  auto tag = s.substr(i, j - i + 1);
  auto close = s.find(tag, j + 1);
  return close == std::string_view::npos ? s.size() : close + tag.size();
}

}  // namespace

std::vector<Token> lex_sql(std::string_view s, Dialect dialect) {
  const bool my = dialect == Dialect::Mysql;
  std::vector<Token> out;
  out.reserve(s.size() / 4 + 4);
  size_t i = 0;
  const char* ops = "+-*/<>=~!@#%^&|`?";
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
      continue;
    }
    // MySQL needs whitespace after "--" for a comment ("1--1" is arithmetic).
    bool dash_comment = c == '-' && i + 1 < s.size() && s[i + 1] == '-' &&
                        (!my || i + 2 >= s.size() || std::isspace(static_cast<unsigned char>(s[i + 2])));
    if (dash_comment || (my && c == '#')) {
      auto nl = s.find('\n', i);
      i = nl == std::string_view::npos ? s.size() : nl + 1;
      continue;
    }
    // MySQL runs /*! ... */ as code; MariaDB also /*M! ... */.
    bool executable = my && c == '/' && i + 2 < s.size() && s[i + 1] == '*' &&
                      (s[i + 2] == '!' || (s[i + 2] == 'M' && i + 3 < s.size() && s[i + 3] == '!'));
    if (executable) {
      auto close = s.find("*/", i + 3);
      size_t end = close == std::string_view::npos ? s.size() : close + 2;
      out.push_back({TokenKind::Opaque, static_cast<uint32_t>(i), static_cast<uint32_t>(end)});
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      int depth = 1;  // PostgreSQL block comments nest; MySQL's do not
      i += 2;
      while (i < s.size() && depth > 0) {
        if (!my && s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (s[i] == '*' && i + 1 < s.size() && s[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
      continue;
    }
    size_t start = i;
    TokenKind kind;
    if (my && (c == '\'' || c == '"')) {
      i = skip_quoted(s, i, static_cast<char>(c), true);
      kind = TokenKind::String;
    } else if (my && c == '`') {
      i = skip_quoted(s, i, '`', false);
      kind = TokenKind::QuotedIdent;
    } else if (my && c == '?') {
      ++i;
      kind = TokenKind::Param;
    } else if (my && c == '_' && i + 1 < s.size() && std::isalpha(static_cast<unsigned char>(s[i + 1]))) {
      // _utf8mb4'text': a charset introducer belongs to its string.
      size_t j = i + 1;
      while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && (s[j] == '\'' || s[j] == '"')) {
        i = skip_quoted(s, j, s[j], true);
        kind = TokenKind::String;
      } else {
        while (i < s.size() && ident_char(static_cast<unsigned char>(s[i]))) ++i;
        kind = TokenKind::Word;
      }
    } else if (c == '\'') {
      i = skip_quoted(s, i, '\'', false);
      kind = TokenKind::String;
    } else if (!my && (c == 'E' || c == 'e') && i + 1 < s.size() && s[i + 1] == '\'') {
      i = skip_quoted(s, i + 1, '\'', true);
      kind = TokenKind::String;
    } else if ((c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i + 1 < s.size() &&
               s[i + 1] == '\'') {
      i = skip_quoted(s, i + 1, '\'', false);
      kind = TokenKind::String;
    } else if ((c == 'U' || c == 'u') && i + 2 < s.size() && s[i + 1] == '&' && (s[i + 2] == '\'' || s[i + 2] == '"')) {
      i = skip_quoted(s, i + 2, s[i + 2], false);
      kind = s[start + 2] == '\'' ? TokenKind::String : TokenKind::QuotedIdent;
    } else if (c == '"') {
      i = skip_quoted(s, i, '"', false);
      kind = TokenKind::QuotedIdent;
    } else if (!my && c == '$' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      kind = TokenKind::Param;
    } else if (!my && c == '$') {
      size_t end = skip_dollar_quoted(s, i);
      if (end == std::string_view::npos) {
        ++i;
        kind = TokenKind::Operator;
      } else {
        i = end;
        kind = TokenKind::String;
      }
    } else if (ident_start(c)) {
      while (i < s.size() && ident_char(static_cast<unsigned char>(s[i]))) ++i;
      kind = TokenKind::Word;
    } else if (std::isdigit(c) || (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '_')) {
        // 1e-5: a sign directly after an exponent belongs to the number
        if ((s[i] == 'e' || s[i] == 'E') && i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) ++i;
        ++i;
      }
      kind = TokenKind::Number;
    } else {
      ++i;
      switch (c) {
        case '(': kind = TokenKind::LParen; break;
        case ')': kind = TokenKind::RParen; break;
        case '[': kind = TokenKind::LBracket; break;
        case ']': kind = TokenKind::RBracket; break;
        case ',': kind = TokenKind::Comma; break;
        case ';': kind = TokenKind::Semicolon; break;
        case '.': kind = TokenKind::Dot; break;
        case ':':
          if (i < s.size() && s[i] == ':') ++i;
          kind = TokenKind::Operator;
          break;
        default:
          // MySQL has no operator with `?` in it: `id=?` is `=` and a placeholder.
          while (i < s.size() && std::string_view(ops).find(s[i]) != std::string_view::npos && !(my && s[i] == '?'))
            ++i;
          kind = TokenKind::Operator;
      }
    }
    out.push_back({kind, static_cast<uint32_t>(start), static_cast<uint32_t>(i)});
  }
  return out;
}

std::optional<std::vector<RowItems>> split_rows(const std::vector<Token>& toks, int i, int last) {
  std::vector<RowItems> rows;
  while (i <= last && toks[i].kind == TokenKind::LParen) {
    RowItems row;
    int depth = 0, start = i + 1, j = i + 1;
    for (; j <= last; ++j) {
      auto kind = toks[j].kind;
      if (kind == TokenKind::LParen || kind == TokenKind::LBracket) {
        ++depth;
      } else if (kind == TokenKind::RParen || kind == TokenKind::RBracket) {
        if (depth == 0) {
          row.emplace_back(start, j - 1);
          break;
        }
        --depth;
      } else if (kind == TokenKind::Comma && depth == 0) {
        row.emplace_back(start, j - 1);
        start = j + 1;
      }
    }
    if (j > last) return std::nullopt;
    rows.push_back(std::move(row));
    i = j + 1;
    if (i <= last && toks[i].kind == TokenKind::Comma)
      ++i;
    else
      break;
  }
  return rows;
}

bool is_keyword(std::string_view sql, const Token& t, std::string_view upper_keyword) {
  if (t.kind != TokenKind::Word || t.end - t.begin != upper_keyword.size()) return false;
  for (size_t k = 0; k < upper_keyword.size(); ++k)
    if (std::toupper(static_cast<unsigned char>(sql[t.begin + k])) != upper_keyword[k]) return false;
  return true;
}

int expression_last_token(std::string_view sql, const std::vector<Token>& toks, int first, uint32_t limit,
                          std::initializer_list<std::string_view> stops) {
  int depth = 0;
  int i = first;
  for (; i < static_cast<int>(toks.size()) && toks[i].begin < limit; ++i) {
    const auto& t = toks[i];
    if (t.kind == TokenKind::LParen || t.kind == TokenKind::LBracket) {
      ++depth;
    } else if (t.kind == TokenKind::RParen || t.kind == TokenKind::RBracket) {
      if (depth == 0) break;
      --depth;
    } else if (depth == 0 && (t.kind == TokenKind::Comma || t.kind == TokenKind::Semicolon)) {
      break;
    } else if (depth == 0 && t.kind == TokenKind::Word && i > first) {
      bool stop = false;
      for (auto kw : stops) stop = stop || is_keyword(sql, t, kw);
      if (stop && is_keyword(sql, t, "FROM") && is_keyword(sql, toks[i - 1], "DISTINCT")) stop = false;
      if (stop) break;
    }
  }
  return std::max(first, i - 1);
}

}  // namespace sy::rewrite
