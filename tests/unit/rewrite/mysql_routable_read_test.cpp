// Which MySQL/MariaDB statements a read target may answer
// (rewrite/mysql/routable_read.h): named cases for each rule, then a property
// test whose generator knows the truth.
#include "rewrite/mysql/routable_read.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/unit/rewrite/routable_read_properties.h"

namespace sy::rewrite {
namespace {

bool routable(std::string_view sql, const FunctionAllowList& allowed = {}) {
  return mysql_routable_read(sql, allowed).routable();
}

TEST(MysqlRoutableRead, PlainReadsAreRoutable) {
  for (const char* sql : {
           "SELECT 1",
           "select id, state from transfers where id = ?",
           "SELECT state, COUNT(*) FROM transfers GROUP BY state WITH ROLLUP",
           "SELECT * FROM transfers t FORCE INDEX (PRIMARY) WHERE t.id IN (1, 2, 3) ORDER BY id LIMIT 10",
           "WITH r AS (SELECT * FROM transfers WHERE amount > 10) SELECT id FROM r",
           "(SELECT id FROM transfers) UNION ALL (SELECT id FROM old_transfers)",
           "SELECT CAST(amount AS DECIMAL(10,2)), CONVERT(note USING utf8mb4), DATE_FORMAT(created, '%Y')"
           " FROM transfers",
           "SELECT IF(state = 'done', 1, 0), IFNULL(note, ''), CONCAT_WS('-', a, b) FROM transfers",
           "SELECT ROW_NUMBER() OVER (PARTITION BY state ORDER BY id) FROM transfers",
           "SELECT * FROM transfers WHERE MATCH(note) AGAINST ('late' IN BOOLEAN MODE)",
           "SELECT NOW(), CURRENT_DATE, UTC_TIMESTAMP()",
           "SELECT 'FOR UPDATE', `insert` FROM transfers -- FOR UPDATE",
           "SELECT REPLACE(note, 'a', 'b'), INSERT(note, 1, 2, 'x') FROM transfers",
           "VALUES ROW(1, 2), ROW(3, 4)",
           "TABLE transfers",
           "SELECT 1; SELECT 2;",
           "SELECT a FROM t1 JOIN t2 ON (t1.id = t2.id) WHERE EXISTS (SELECT 1 FROM t3)",
       })
    EXPECT_TRUE(routable(sql)) << sql << ": " << mysql_routable_read(sql).keep_on_primary;
}

TEST(MysqlRoutableRead, ReadsThatLockWriteOrReadTheSessionStayOnThePrimary) {
  for (const char* sql : {
           "SELECT * FROM transfers WHERE id = 1 FOR UPDATE",
           "SELECT * FROM transfers FOR SHARE",
           "SELECT * FROM transfers LOCK IN SHARE MODE",
           "SELECT * FROM (SELECT * FROM transfers FOR UPDATE) s",
           "SELECT LAST_INSERT_ID()",
           "SELECT FOUND_ROWS()",
           "SELECT ROW_COUNT()",
           "SELECT SQL_CALC_FOUND_ROWS * FROM transfers LIMIT 10",
           "SELECT GET_LOCK('a', 1)",
           "SELECT RELEASE_LOCK('a')",
           "SELECT SLEEP(1)",
           "SELECT RAND()",
           "SELECT UUID()",
           "SELECT CONNECTION_ID()",
           "SELECT USER()",
           "SELECT DATABASE()",
           "SELECT CURRENT_USER",
           "SELECT current_role()",
           "SELECT next_state(id) FROM transfers",
           "SELECT app.score(id) FROM transfers",
           "SELECT @a",
           "SELECT @a := 1",
           "SELECT @@session.sql_mode",
           "SELECT id INTO @x FROM transfers LIMIT 1",
           "SELECT * FROM transfers INTO OUTFILE '/tmp/x'",
           "SELECT * FROM mysql.user",
           "SELECT * FROM `information_schema`.`TABLES`",
           "SELECT * FROM performance_schema.threads",
           "SELECT NEXT VALUE FOR seq",
           "SELECT /*! SQL_NO_CACHE */ 1",
           "WITH r AS (SELECT 1) UPDATE transfers SET state = 'x'",
           "WITH r AS (SELECT id FROM transfers) DELETE FROM transfers WHERE id IN (SELECT id FROM r)",
           "INSERT INTO transfers VALUES (1)",
           "UPDATE transfers SET state = 'x'",
           "REPLACE INTO transfers VALUES (1)",
           "SHOW TABLES",
           "SET NAMES utf8mb4",
           "DO SLEEP(1)",
           "CALL refresh()",
           "SELECT 1; UPDATE transfers SET state = 'x'",
           "",
           ";",
       })
    EXPECT_FALSE(routable(sql)) << sql;
}

TEST(MysqlRoutableRead, TheTenantsAllowListAddsFunctions) {
  EXPECT_FALSE(routable("SELECT next_state(id) FROM transfers"));
  EXPECT_TRUE(routable("SELECT next_state(id) FROM transfers", {"next_state"}));
  EXPECT_TRUE(routable("SELECT NEXT_STATE(id) FROM transfers", {"next_state"}));
  EXPECT_FALSE(routable("SELECT app.score(id) FROM transfers", {"score"}));
  EXPECT_TRUE(routable("SELECT app.score(id) FROM transfers", {"app.score"}));
  EXPECT_TRUE(routable("SELECT `app`.`score`(id) FROM transfers", {"app.score"}));
  EXPECT_FALSE(routable("SELECT next_state(id) FROM transfers FOR UPDATE", {"next_state"}));
  EXPECT_EQ(mysql_routable_read("SELECT GET_LOCK('a', 1)").keep_on_primary, "function get_lock is not on the allow-list");
}

// ---- property test ------------------------------------------------------------------------------

class ReadGenerator : public test::TaintingGenerator {
 public:
  explicit ReadGenerator(uint32_t seed) : TaintingGenerator(seed) {}

  std::string statement() {
    clean();
    std::string sql;
    if (chance(15)) {
      sql += "WITH c AS (" + select(2, false) + ") ";
      if (chance(10)) return sql + taint("UPDATE transfers SET state = 'x'");  // MySQL 8: WITH ... UPDATE
    }
    if (chance(15))
      return sql + "(" + select(1, false) + ") UNION (" + select(1, false) + ")";
    return sql + select(0, true);
  }
 private:

  std::string expr(int depth) {
    static const std::vector<std::string> columns = {"id", "state", "t.amount", "`note`", "created"};
    static const std::vector<std::string> literals = {"1", "'done'", "?", "2.5", "NULL", "'FOR UPDATE'",
                                                      "'@x'", "\"LAST_INSERT_ID()\""};
    static const std::vector<std::string> safe_calls = {"LOWER", "upper", "LENGTH", "abs", "COALESCE", "DATE",
                                                        "md5", "ROUND", "CONCAT", "NOW", "GREATEST", "IFNULL"};
    static const std::vector<std::string> bad = {"LAST_INSERT_ID()", "FOUND_ROWS()", "RAND()", "UUID()",
                                                 "GET_LOCK('k', 0)", "next_state(id)", "@v", "@@sql_mode",
                                                 "CURRENT_USER", "USER()", "app.f(1)", "SLEEP(0)"};
    int r = roll();
    if (r < 5) return taint(pick(bad));
    if (r < 35) return pick(columns);
    if (r < 55) return pick(literals);
    if (r < 75 && depth < 3) return pick(safe_calls) + "(" + expr(depth + 1) + ")";
    if (r < 82 && depth < 3) return "(" + expr(depth + 1) + " + " + expr(depth + 1) + ")";
    if (r < 88 && depth < 3) return "CAST(" + expr(depth + 1) + " AS CHAR(20))";
    if (r < 94 && depth < 2) return "(SELECT MAX(id) FROM items i WHERE i.n = " + expr(depth + 1) + lock() + ")";
    if (depth < 2) return "EXISTS (" + select(depth + 1, false) + ")";
    return pick(columns);
  }

  std::string lock() {
    static const std::vector<std::string> locks = {" FOR UPDATE", " FOR SHARE", " LOCK IN SHARE MODE",
                                                   " FOR UPDATE SKIP LOCKED"};
    return chance(4) ? taint(pick(locks)) : "";
  }

  std::string from(int depth) {
    int r = roll();
    if (r < 2) return taint("mysql.user t");
    if (r < 3) return taint("`performance_schema`.threads t");
    if (r < 50) return "transfers t";
    if (r < 70) return "transfers t JOIN items i ON (i.transfer_id = t.id)";
    if (r < 80) return "app.transfers t";
    if (depth < 2) return "(" + select(depth + 1, false) + ") t";
    return "transfers t";
  }

  std::string select(int depth, bool top) {
    std::string sql = "SELECT ";
    if (top && chance(2)) sql += taint("SQL_CALC_FOUND_ROWS ");
    sql += expr(depth);
    for (int n = between(0, 2); n > 0; --n) sql += ", " + expr(depth);
    sql += " FROM " + from(depth);
    if (chance(60)) sql += " WHERE " + expr(depth) + " = " + expr(depth);
    if (chance(30)) sql += " ORDER BY 1";
    if (chance(20)) sql += " LIMIT 10";
    if (top && chance(3)) sql += taint(" INTO @x");
    sql += lock();
    return sql;
  }

};

TEST(MysqlRoutableRead, PropertyRoutableExactlyWhenNoIngredientKeepsItOnThePrimary) {
  ReadGenerator gen(20261202);
  test::expect_routable_exactly_when_clean(gen, [](const std::string& sql) { return mysql_routable_read(sql); },
                                           5000);
}

TEST(MysqlRoutableRead, PropertyASequenceIsRoutableOnlyWhenEveryStatementIs) {
  ReadGenerator gen(7);
  test::expect_sequence_routable_only_when_every_statement_is(
      gen, [](const std::string& sql) { return mysql_routable_read(sql); }, 1000);
}

}  // namespace
}  // namespace sy::rewrite
