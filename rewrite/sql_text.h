#pragma once
// Emitting SQL text safely: literals and identifiers produced by the rewriter
// can never break out of their quotes, whatever the configured values contain.
#include <string>
#include <string_view>

namespace sy::rewrite {

//! A string literal that means `value` whatever standard_conforming_strings
//! is set to: '...' with quotes doubled, or E'...' when a backslash is present.
std::string quote_literal(std::string_view value);

//! An always-quoted identifier ("name", inner quotes doubled): config names are
//! exact, so quoting keeps their case and never collides with a keyword.
std::string quote_ident(std::string_view name);

//! A MySQL string literal for `value` that means the same whether or not the
//! server runs with NO_BACKSLASH_ESCAPES or ANSI_QUOTES: plain '...' when the
//! value holds no quote, backslash or control byte, else _utf8mb4 X'<hex>'.
std::string quote_mysql_literal(std::string_view value);

//! A MySQL identifier in backticks, inner backticks doubled.
std::string quote_mysql_ident(std::string_view name);

//! The value of a MySQL string token ('..' or ".." with backslash escapes and
//! doubled quotes, optionally with a _charset introducer).
std::string unquote_mysql_string(std::string_view token);

//! ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

//! ASCII case-insensitive substring search.
bool contains_ci(std::string_view haystack, std::string_view lower_needle);

//! `s` with ASCII letters in lower case (what contains_ci wants as needle).
std::string ascii_lower(std::string_view s);

}  // namespace sy::rewrite
