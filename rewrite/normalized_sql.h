#pragma once
// A statement's text with its values taken out, for evidence that is logged
// and served (STATUS_MISMATCH, SHADOW_NOISE): the shape an operator needs to
// find the call site, without the customer data a literal may carry.
#include <string>
#include <string_view>

#include "rewrite/sql_lexer.h"

namespace sy::rewrite {

//! PostgreSQL: libpg_query's normalisation (each constant becomes $n,
//! numbered after the statement's own parameters), or, for text it cannot
//! parse, the lexer's form below. MySQL: every string and number literal
//! becomes `?`, and an executable comment `/*!…*/`, whose code is not looked
//! into, becomes `/*!…*/`. Everything else (names, operators, spacing,
//! comments) stays as written.
std::string normalized_sql(std::string_view sql, Dialect dialect);

}  // namespace sy::rewrite
