#pragma once
// The PostgreSQL read switch (read_switch and cleanup): every reference to a
// migrated table's legacy column is answered from legacy' = reverse(unified),
// as SPEC.md's "Reads in read_switch and cleanup" (column level) says.
//
// It works on libpg_query's parse tree and edits the client's text at the
// tree's byte offsets; nothing is deparsed. Column references are resolved
// the way PostgreSQL resolves them (innermost query level first, FROM items,
// CTEs, derived tables, output names in ORDER BY), and a reference it cannot
// resolve with certainty makes the whole statement unsupported: forwarded
// unchanged and reported, never answered from the wrong column.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "rewrite/decision.h"
#include "rewrite/migration_set.h"
#include "rewrite/pg_parse.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/text_edits.h"

namespace sy::rewrite {

struct ReadSwitchResult {
  std::vector<Edit> edits;
  //! One ReadSwitched event per migration whose column the statement reads.
  std::vector<MigrationEvent> events;
  //! Why the statement's reads cannot be switched; then `edits` is empty.
  std::string unsupported;
  const CompiledMigration* unsupported_migration = nullptr;
  //! For a statement that is one SELECT: how its answer is to be compared
  //! (see ReadShape); nullopt for anything else.
  std::optional<ReadShape> shape;
};

//! Switches the reads of one statement (a RawStmt's "stmt" node) whose text
//! ends before byte `limit`. In cleanup the read parts of writes (WHERE, SET
//! values, INSERT ... SELECT, RETURNING) are switched as well, because the
//! stored legacy column is stale from then on; in read_switch writes are left
//! to the write rewrite. Thread-safe: no state outlives the call.
ReadSwitchResult switch_reads(const JsonValue& stmt, std::string_view sql, const std::vector<Token>& toks,
                              uint32_t limit, const MigrationSet& migrations, config::Phase phase);

//! PostgreSQL's LIKE over text: `%` any run, `_` one character (UTF-8),
//! backslash escapes. nullopt for a pattern PostgreSQL refuses (a trailing
//! escape), which the server must report itself.
std::optional<bool> sql_like(std::string_view value, std::string_view pattern);

}  // namespace sy::rewrite
