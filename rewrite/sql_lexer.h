#pragma once
// A position-preserving SQL tokenizer for the PostgreSQL and MySQL dialects. The rewriter
// uses it to find where expressions and lists end, so it can insert text at
// exact byte offsets and leave everything else untouched. It never allocates
// per token beyond the output vector and never fails: unterminated strings or
// comments simply run to the end of the input.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::rewrite {

enum class TokenKind : uint8_t {
  Word,         //!< identifier or keyword, unquoted
  QuotedIdent,  //!< "..."
  String,       //!< '...', E'...', B'...', X'...', U&'...', $tag$...$tag$
  Number,
  Param,        //!< $1
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Semicolon,
  Dot,
  Operator,     //!< =, <>, ||, ::, ...
  Opaque,       //!< MySQL /*! executable comment */: code we do not look into
};

enum class Dialect { Postgres, Mysql };

struct Token {
  TokenKind kind;
  uint32_t begin;  //!< byte offset in the lexed text
  uint32_t end;    //!< one past the last byte
};

//! Tokens of `sql` in order, comments and whitespace skipped.
//! PostgreSQL: nested /* */, $n parameters, dollar quoting, E'' escapes.
//! MySQL: # and "-- " comments, backtick identifiers, ? parameters, backslash
//! escapes in '' and "" strings (double quotes are strings, as without
//! ANSI_QUOTES).
std::vector<Token> lex_sql(std::string_view sql, Dialect dialect = Dialect::Postgres);

//! Token spans [first, last] of each item of consecutive parenthesised rows
//! starting at token `i` — `(a, b), (c, d)` — up to token `last`. Brackets
//! nest; an item may be empty (first > last). nullopt if a row is unterminated.
using RowItems = std::vector<std::pair<int, int>>;
std::optional<std::vector<RowItems>> split_rows(const std::vector<Token>& toks, int i, int last);

//! Last token of the expression starting at token `first`, looking only at
//! tokens before byte `limit`: it runs until a comma, a semicolon, an
//! unmatched closing bracket or, at depth 0, one of the `stops` keywords
//! (upper case; "IS [NOT] DISTINCT FROM" is an operator, not a FROM clause).
//! `first` itself when nothing follows it.
int expression_last_token(std::string_view sql, const std::vector<Token>& toks, int first, uint32_t limit,
                          std::initializer_list<std::string_view> stops);

//! Case-insensitive comparison of an unquoted word token with an ASCII keyword.
bool is_keyword(std::string_view sql, const Token& t, std::string_view upper_keyword);

}  // namespace sy::rewrite
