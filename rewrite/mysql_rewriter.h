#pragma once
// The MySQL/MariaDB-dialect rewrite. libpg_query does not know MySQL's
// grammar, so this one works from a position-preserving token stream and a
// recogniser for the statement shapes that write columns: UPDATE (single
// table, with LOW_PRIORITY/IGNORE/ORDER BY/LIMIT), INSERT/REPLACE with VALUES,
// SET or SELECT, and ON DUPLICATE KEY UPDATE.
//
// MySQL evaluates single-table SET assignments, INSERT SET assignments, a
// VALUES row and ON DUPLICATE KEY UPDATE left to right, and a later
// expression sees the columns assigned before it. So the unified assignment
// is placed right after the legacy one and maps the *column*
// (`unified = CASE legacy WHEN ...`): the client's expression, and any `?`
// in it, appears once, and the parameter count never changes. Multi-table
// UPDATE has no such order guarantee and is reported unsupported.
#include <string_view>

#include "rewrite/decision.h"
#include "rewrite/migration_set.h"
#include "rewrite/pg_rewriter.h"

namespace sy::rewrite {

class MysqlRewriter {
 public:
  explicit MysqlRewriter(const MigrationSet& migrations) : migrations_(migrations) {}
  Decision rewrite(std::string_view sql, const RewriteOptions& opts) const;

 private:
  const MigrationSet& migrations_;
};

}  // namespace sy::rewrite
