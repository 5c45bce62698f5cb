#pragma once
// The CASE that maps legacy values to unified ones in SQL. The session
// rewriters (for parameters and expressions) and the operator commands
// (verify, backfill) build it alike, so "what switchyard writes" and "what
// verify expects" cannot drift apart.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rewrite/sql_lexer.h"

namespace sy::rewrite {

//! Quotes a value as a string literal of one dialect (see sql_text.h).
using QuoteFn = std::string (*)(std::string_view);

//! The literal quoting of `dialect`: quote_literal or quote_mysql_literal.
QuoteFn literal_quoter(Dialect dialect);

//! `CASE subject WHEN 'legacy' THEN 'unified' ... ELSE else_ END` over `map`
//! in its order, values quoted with `quote`. No ELSE when `else_` is empty
//! (the CASE then yields NULL for an unmapped value).
std::string case_expression(std::string_view subject, const std::vector<std::pair<std::string, std::string>>& map,
                            QuoteFn quote, std::string_view else_ = {});

}  // namespace sy::rewrite
