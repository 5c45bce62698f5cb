#pragma once
// The column that names the row a write pins: a statement whose WHERE is
// `<entity_column> = <literal>` reports that literal as its events'
// entity_id. The migration's `entity_column` (default `id`) says which
// column it is; each dialect finds the comparison, this says whether the
// column it found is that one.
#include <string_view>

#include "rewrite/migration_set.h"
#include "rewrite/sql_lexer.h"

namespace sy::rewrite {

//! Whether `column`, an unqualified column name as the statement spells it
//! (quotes removed), is `m`'s entity column. PostgreSQL compares exactly (its
//! parser has already folded unquoted names to lower case, and the config
//! names columns as stored); MySQL column names are case-insensitive.
bool is_entity_column(const CompiledMigration& m, std::string_view column, Dialect dialect);

}  // namespace sy::rewrite
