#pragma once
// The SQL that the operator commands (`verify`, `backfill`) run straight
// against the database for one migration. Pure text building, no connection:
// the expected unified value is the same CASE over the legacy column that the
// session rewriter emits, so for a mapped legacy value "consistent" means
// "what switchyard would write". Rows whose legacy value is unmapped (or NULL)
// are counted apart, whatever the migration's `unmapped` policy wrote there.
#include <string>

#include "config/config.h"
#include "rewrite/sql_lexer.h"

namespace sy::rewrite {

class MigrationSql {
 public:
  MigrationSql(const config::Migration& m, Dialect dialect) : m_(m), dialect_(dialect) {}

  //! One row, four counts as text: rows, unmapped (legacy NULL or outside the
  //! map), consistent (unified equals the mapped value), inconsistent.
  std::string report() const;

  //! One row: the server's estimate of the table's row count as text (the
  //! planner's statistics, no scan), or NULL / negative when it has none.
  std::string estimated_rows() const;

  //! One row per primary-key column: its name. Nothing when the table has no
  //! primary key (or does not exist).
  std::string primary_key() const;

  //! One row: the largest `key` among the next `batch` rows after `after`
  //! (all rows when `after` is empty), as text, and how many there are.
  std::string next_batch(const std::string& key, const std::string& after, unsigned batch) const;

  //! Sets the unified column of mapped rows with `after < key <= upto` whose
  //! unified value differs. Unmapped rows are left as they are.
  std::string backfill(const std::string& key, const std::string& after, const std::string& upto) const;

 private:
  std::string table() const;
  std::string mysql_database() const;  //!< the migration's schema, else the session's DATABASE()
  std::string ident(const std::string& name) const;
  std::string literal(const std::string& value) const;
  std::string legacy_text() const;   //!< the legacy column as the rewriter compares it
  //! CASE legacy WHEN ... [ELSE else_] END; without else_, NULL when unmapped.
  std::string expected(const std::string& else_ = "") const;
  std::string differs() const;       //!< unified is not exactly expected()
  std::string key_range(const std::string& key, const std::string& after, const std::string& upto) const;

  const config::Migration& m_;
  Dialect dialect_;
};

}  // namespace sy::rewrite
