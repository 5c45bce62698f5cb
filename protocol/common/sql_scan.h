#pragma once
// Token-level helpers the two session-state classifiers share: split a query
// string into statements and look at words without copying. Built on the
// rewrite library's position-preserving lexer (a leaf target with no
// dependencies), so both dialects' quoting rules live in one place.
#include <string>
#include <string_view>
#include <vector>

#include "rewrite/sql_lexer.h"

namespace sy::proto {

using rewrite::Dialect;
using rewrite::Token;
using rewrite::TokenKind;

//! One lexed statement; token offsets are relative to `sql`.
class Lexed {
 public:
  Lexed(std::string_view sql, Dialect dialect) : sql_(sql), toks_(rewrite::lex_sql(sql, dialect)) {}
  std::string_view sql() const { return sql_; }
  size_t size() const { return toks_.size(); }
  TokenKind kind(size_t i) const { return toks_[i].kind; }
  std::string_view text(size_t i) const { return sql_.substr(toks_[i].begin, toks_[i].end - toks_[i].begin); }
  //! Token i exists and is the unquoted word `upper` (ASCII, any case).
  bool kw(size_t i, std::string_view upper) const { return i < toks_.size() && rewrite::is_keyword(sql_, toks_[i], upper); }
  bool is(size_t i, TokenKind k) const { return i < toks_.size() && toks_[i].kind == k; }
  //! Operator token i whose text is exactly `op`.
  bool op(size_t i, std::string_view o) const { return is(i, TokenKind::Operator) && text(i) == o; }
  //! The text from the start of token i to the end of the statement.
  std::string_view from(size_t i) const { return i < toks_.size() ? sql_.substr(toks_[i].begin) : std::string_view(); }
  const std::vector<Token>& tokens() const { return toks_; }

 private:
  std::string_view sql_;
  std::vector<Token> toks_;
};

//! The non-empty statements of a query string, split at top-level semicolons,
//! each trimmed of surrounding whitespace and its semicolon.
std::vector<std::string_view> split_statements(std::string_view sql, Dialect dialect);

//! Reads one (possibly qualified) name at token i as its dialect writes it,
//! leaving `next` on the token after it; empty when there is none.
using NameReader = std::string (*)(const Lexed& l, size_t i, size_t& next);

//! The names of a list such as DROP TABLE a, b.c starting at token i, read
//! by `read`; the list ends at the first token that is not a name.
std::vector<std::string> name_list(const Lexed& l, size_t i, NameReader read);

//! ASCII lower-case copy.
std::string lower(std::string_view s);

//! The value of a quoted identifier token ("a""b" or `a``b`), quotes removed.
std::string unquote_ident(std::string_view token);

}  // namespace sy::proto
