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

//! ASCII case-insensitive substring search.
bool contains_ci(std::string_view haystack, std::string_view lower_needle);

}  // namespace sy::rewrite
