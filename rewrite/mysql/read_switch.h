#pragma once
// The MySQL/MariaDB read switch (read_switch and cleanup phases): every read
// of a migrated table's legacy column is answered from the unified column,
// as `CASE <t>.<unified> WHEN 'U' THEN 'L' ... ELSE <t>.<legacy> END`
// (ReverseMap::legacy_view), placed where the column reference was.
//
// libpg_query does not parse MySQL, so this is a recogniser over the
// position-preserving token stream (sql_lexer, Dialect::Mysql) for the SELECT
// shapes applications use: one table or INNER/LEFT/RIGHT/CROSS joins with ON,
// aliases with or without AS, database-qualified tables, WHERE, GROUP BY,
// HAVING, ORDER BY, LIMIT, DISTINCT, IN lists, subqueries in expressions and
// derived tables. Column names resolve the way the server resolves them
// (innermost scope first, select-list aliases in ORDER BY, ...); wherever the
// recogniser cannot be sure what a name means (a table whose columns it does
// not know sits between the name and the migrated table, SELECT * over a
// migrated table, UNION, CTEs, executable comments, ...), the statement is
// reported unsupported and goes through unchanged. Never a guess.
//
// Predicates keep the CASE form: MySQL compares strings under the column's
// collation (usually case- and trailing-space-insensitive), so the unified
// values whose reverse equals a literal cannot be computed here without
// re-implementing collations. The price: an index on the unified column is
// not used for `status = 'x'` on MySQL yet.
#include <string>
#include <string_view>
#include <vector>

#include "rewrite/decision.h"
#include "rewrite/migration_set.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/text_edits.h"

namespace sy::rewrite::mysql {

//! What the read switch made of one statement: edits and the migrations
//! whose reads they switch, or why it cannot switch them (then no edits).
struct ReadSwitchResult {
  std::vector<Edit> edits;
  std::vector<const CompiledMigration*> switched;  //!< each migration once, in first-seen order
  std::string unsupported;                         //!< non-empty: the statement cannot be switched
  const CompiledMigration* unsupported_migration = nullptr;
  //! For a statement that is one SELECT (no UNION, no locking clause): how
  //! its answer is to be compared by the shadow reads (see ReadShape);
  //! nullopt for anything else.
  std::optional<ReadShape> shape;
};

class ReadSwitch {
 public:
  //! `toks` is lex_sql(sql, Dialect::Mysql); both outlive the ReadSwitch.
  ReadSwitch(std::string_view sql, const std::vector<Token>& toks, const MigrationSet& migrations)
      : sql_(sql), toks_(toks), migrations_(migrations) {}

  //! A statement (tokens first..last, no `;`) that is not a write: SELECT is
  //! switched; any other statement that may read a legacy column (SET @v =
  //! (SELECT ...), DO, CALL, CREATE ... SELECT, WITH, ...) is unsupported.
  //! DDL and statements that cannot read one yield an empty result.
  ReadSwitchResult read(int first, int last) const;

  //! The read parts of a write in cleanup (UPDATE, DELETE, INSERT, REPLACE):
  //! WHERE, SET right-hand sides, ORDER BY, INSERT ... SELECT and subqueries
  //! see the switched column. The assignment targets are left to the write
  //! rewrite. Shapes it does not handle that may read a legacy column are
  //! unsupported.
  ReadSwitchResult write(int first, int last) const;

  //! Whether `first` starts a statement `write` is for.
  bool is_write(int first) const;

 private:
  std::string_view sql_;
  const std::vector<Token>& toks_;
  const MigrationSet& migrations_;
};

}  // namespace sy::rewrite::mysql
