#pragma once
// SQL the rewrite cannot look into — a PostgreSQL DO block's body, a MySQL
// PREPARE / EXECUTE IMMEDIATE string, an executable comment — may still
// write a legacy column. These tests say when it may, on the raw text, with
// the pre-filter's rule: a write keyword, the migrated table as a whole word,
// and its legacy column (or a positional write such as INSERT). Such
// statements are reported, never rewritten.
#include <string_view>
#include <vector>

#include "rewrite/migration_set.h"

namespace sy::rewrite {

//! `lower_word` (lower case) in `sql` as a whole word, in any case:
//! orders_archive does not name orders.
bool names_word(std::string_view sql, std::string_view lower_word);

//! Migrations whose table or legacy column `sql` names as a whole word.
std::vector<const CompiledMigration*> named_in(const MigrationSet& ms, std::string_view sql);

//! The first migration whose table `text` names as a whole word when `text`
//! also passes the pre-filter (MigrationSet::may_touch): `text` may write that
//! migration's legacy column. nullptr otherwise.
const CompiledMigration* may_write_in(const MigrationSet& ms, std::string_view text);

}  // namespace sy::rewrite
