#include "rewrite/sql_text.h"

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
