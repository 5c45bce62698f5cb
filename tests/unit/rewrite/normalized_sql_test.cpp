#include "rewrite/normalized_sql.h"

#include <gtest/gtest.h>

namespace sy::rewrite {
namespace {

TEST(NormalizedSql, PostgresConstantsBecomeParametersAfterTheStatementsOwn) {
  EXPECT_EQ(normalized_sql("SELECT id FROM orders WHERE status = 'Lost' AND id > 42", Dialect::Postgres),
            "SELECT id FROM orders WHERE status = $1 AND id > $2");
  EXPECT_EQ(normalized_sql("SELECT id FROM orders WHERE id = $1 AND status = 'Lost'", Dialect::Postgres),
            "SELECT id FROM orders WHERE id = $1 AND status = $2");
}

TEST(NormalizedSql, PostgresTextItCannotParseStillLosesItsLiterals) {
  EXPECT_EQ(normalized_sql("SELEC status FROM orders WHERE note = E'it''s'", Dialect::Postgres),
            "SELEC status FROM orders WHERE note = ?");
}

TEST(NormalizedSql, MysqlLiteralsAndExecutableCommentsAreTakenOut) {
  EXPECT_EQ(normalized_sql("SELECT id FROM t WHERE state = 'sent' AND id IN (1, 2.5) /* keep */ AND x = ?",
                           Dialect::Mysql),
            "SELECT id FROM t WHERE state = ? AND id IN (?, ?) /* keep */ AND x = ?");
  EXPECT_EQ(normalized_sql("SELECT /*!50000 'secret' */ state FROM t WHERE n = \"x\"", Dialect::Mysql),
            "SELECT /*!…*/ state FROM t WHERE n = ?");
}

}  // namespace
}  // namespace sy::rewrite
