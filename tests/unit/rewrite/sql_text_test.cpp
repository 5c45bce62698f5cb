#include "rewrite/sql_text.h"
#include "rewrite/migration_sql.h"

#include <gtest/gtest.h>

using namespace sy::rewrite;

TEST(SqlText, LiteralsCannotBreakOut) {
  EXPECT_EQ(quote_literal("Awaiting approval"), "'Awaiting approval'");
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
  EXPECT_EQ(quote_literal("a\\b"), "E'a\\\\b'");
  EXPECT_EQ(quote_literal("x'; DROP TABLE orders; --"), "'x''; DROP TABLE orders; --'");
  EXPECT_EQ(quote_literal("\\'"), "E'\\\\'''");
  EXPECT_EQ(quote_literal("Entregado ✓"), "'Entregado ✓'");
}

TEST(SqlText, IdentifiersAreAlwaysQuoted) {
  EXPECT_EQ(quote_ident("unified_status"), "\"unified_status\"");
  EXPECT_EQ(quote_ident("Weird\"Name"), "\"Weird\"\"Name\"");
}

TEST(SqlText, ContainsIgnoringCase) {
  EXPECT_TRUE(contains_ci("UPDATE Orders SET", "orders"));
  EXPECT_FALSE(contains_ci("UPDATE ord", "orders"));
  EXPECT_TRUE(contains_ci("x", ""));
}

// The operator commands' SQL quotes every configured name and value, as the
// rewriter does: a migration cannot inject through its own config.
TEST(MigrationSql, QuotesNamesAndValuesInBothDialects) {
  sy::config::Migration m;
  m.schema = "sales";
  m.table = "or\"d`ers";
  m.legacy_column = "status";
  m.unified_column = "unified_status";
  m.map = {{"it's", "ITS"}};
  auto pg = sy::rewrite::MigrationSql(m, sy::rewrite::Dialect::Postgres);
  EXPECT_NE(pg.report().find("FROM \"sales\".\"or\"\"d`ers\" t"), std::string::npos) << pg.report();
  EXPECT_NE(pg.backfill("id", "10", "20").find("t.\"id\" > '10' AND t.\"id\" <= '20'"), std::string::npos);
  EXPECT_NE(pg.backfill("id", "", "").find("WHEN 'it''s' THEN 'ITS' ELSE t.\"unified_status\" END"), std::string::npos)
      << pg.backfill("id", "", "");
  auto my = sy::rewrite::MigrationSql(m, sy::rewrite::Dialect::Mysql);
  EXPECT_NE(my.report().find("FROM `sales`.`or\"d``ers` t"), std::string::npos) << my.report();
  EXPECT_NE(my.backfill("id", "", "").find("CAST(t.`unified_status` AS BINARY) <=>"), std::string::npos);
  EXPECT_EQ(my.backfill("id", "", "").find("it's"), std::string::npos);  // hex-encoded, whatever the sql_mode
}
