// Which PostgreSQL statements a read target may answer (rewrite/pg/routable_read.h):
// named cases for each rule, then a property test whose generator knows the
// truth: thousands of random reads built from safe parts, some with one
// ingredient that must keep them on the primary, at any depth.
#include "rewrite/pg/routable_read.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/unit/rewrite/routable_read_properties.h"

namespace sy::rewrite {
namespace {

bool routable(std::string_view sql, const FunctionAllowList& allowed = {}) {
  return pg_routable_read(sql, allowed).routable();
}

TEST(PgRoutableRead, PlainReadsAreRoutable) {
  for (const char* sql : {
           "SELECT 1",
           "SELECT id, status FROM orders WHERE id = $1",
           "VALUES (1, 'a'), (2, 'b')",
           "TABLE orders",
           "SELECT status, count(*) FROM orders GROUP BY status HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 5",
           "WITH recent AS (SELECT * FROM orders WHERE created > now() - interval '1 day') SELECT * FROM recent",
           "SELECT lower(status), EXTRACT(year FROM created), substring(note FROM 2 FOR 3), trim(both ' ' FROM note)"
           " FROM orders",
           "SELECT created AT TIME ZONE 'UTC', position('a' IN note) FROM orders",
           "SELECT o.id FROM orders o JOIN items i ON i.order_id = o.id WHERE EXISTS (SELECT 1 FROM refunds r"
           " WHERE r.order_id = o.id)",
           "SELECT id FROM orders UNION ALL SELECT id FROM old_orders",
           "SELECT row_number() OVER (PARTITION BY status ORDER BY id) FROM orders",
           "SELECT current_date, current_timestamp, localtime",
           "SELECT 1; SELECT 2",
           "SELECT * FROM generate_series(1, 10) g",
           "SELECT jsonb_build_object('id', id) FROM orders",
           "SELECT id::text, amount::numeric(10,2) FROM orders",
       })
    EXPECT_TRUE(routable(sql)) << sql << ": " << pg_routable_read(sql).keep_on_primary;
}

TEST(PgRoutableRead, ReadsThatLockWriteOrCallVolatileFunctionsStayOnThePrimary) {
  for (const char* sql : {
           "SELECT * FROM orders WHERE id = 1 FOR UPDATE",
           "SELECT * FROM orders FOR NO KEY UPDATE",
           "SELECT * FROM orders FOR SHARE",
           "SELECT * FROM orders FOR KEY SHARE SKIP LOCKED",
           "SELECT * FROM (SELECT * FROM orders FOR UPDATE) s",
           "SELECT (SELECT max(id) FROM orders FOR SHARE)",
           "SELECT nextval('orders_id_seq')",
           "SELECT setval('orders_id_seq', 10)",
           "SELECT currval('orders_id_seq')",
           "SELECT pg_advisory_lock(42)",
           "SELECT pg_try_advisory_xact_lock(1, 2)",
           "SELECT random()",
           "SELECT clock_timestamp()",
           "SELECT gen_random_uuid()",
           "SELECT set_config('app.user', '7', false)",
           "SELECT current_setting('app.user')",
           "SELECT pg_backend_pid()",
           "SELECT next_status(id) FROM orders",
           "SELECT public.lower(status) FROM orders",
           "SELECT * FROM my_report(1)",
           "WITH gone AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM gone",
           "WITH n AS (INSERT INTO log VALUES (1) RETURNING id) SELECT * FROM n",
           "WITH u AS (UPDATE orders SET status = 'x' RETURNING id) SELECT count(*) FROM u",
           "SELECT * INTO orders_copy FROM orders",
           "INSERT INTO orders VALUES (1)",
           "UPDATE orders SET status = 'x'",
           "DELETE FROM orders",
           "LOCK TABLE orders",
           "EXPLAIN SELECT 1",
           "SHOW search_path",
           "SET search_path TO app",
           "DECLARE c CURSOR FOR SELECT 1",
           "COPY (SELECT 1) TO STDOUT",
           "CALL refresh()",
           "SELECT current_user",
           "SELECT session_user, user",
           "SELECT current_role",
           "SELECT * FROM pg_stat_activity",
           "SELECT * FROM pg_catalog.pg_locks",
           "SELECT * FROM information_schema.tables",
           "SELECT ctid, * FROM orders",
           "SELECT o.xmin FROM orders o",
           "SELECT tableoid::regclass, id FROM orders",
           "SELECT 'orders'::regclass::oid",
           "SELECT * FROM orders TABLESAMPLE SYSTEM (10)",
           "SELECT 1; UPDATE orders SET status = 'x'",
           "SELEC 1",
           "",
       })
    EXPECT_FALSE(routable(sql)) << sql;
}

TEST(PgRoutableRead, EveryRefusalSaysWhy) {
  EXPECT_EQ(pg_routable_read("SELECT nextval('s')").keep_on_primary, "function nextval is not on the allow-list");
  EXPECT_EQ(pg_routable_read("SELECT * FROM t FOR UPDATE").keep_on_primary,
            "a locking clause (FOR UPDATE / SHARE) takes row locks on the primary");
  EXPECT_EQ(pg_routable_read("UPDATE t SET a = 1").keep_on_primary, "not a plain read (SELECT, VALUES or TABLE)");
  EXPECT_NE(pg_routable_read("SELEC 1").keep_on_primary.find("does not parse"), std::string::npos);
}

TEST(PgRoutableRead, TheTenantsAllowListAddsFunctions) {
  EXPECT_FALSE(routable("SELECT next_status(id) FROM orders"));
  EXPECT_TRUE(routable("SELECT next_status(id) FROM orders", {"next_status"}));
  EXPECT_FALSE(routable("SELECT app.score(id) FROM orders", {"score"}));  // qualified: named as such
  EXPECT_TRUE(routable("SELECT app.score(id) FROM orders", {"app.score"}));
  EXPECT_TRUE(routable("SELECT App.Score(id) FROM orders", {"app.score"}));  // unquoted names fold
  // The allow-list adds functions; it never lifts a lock or a write.
  EXPECT_FALSE(routable("SELECT next_status(id) FROM orders FOR UPDATE", {"next_status"}));
}

// ---- property test ------------------------------------------------------------------------------

// Builds random reads; `poisoned` records whether one ingredient that must
// keep the statement on the primary went in, and where.
class ReadGenerator : public test::TaintingGenerator {
 public:
  explicit ReadGenerator(uint32_t seed) : TaintingGenerator(seed) {}

  std::string statement() {
    clean();
    std::string sql;
    if (chance(15)) sql += with_clause();
    if (chance(15)) {
      // Parenthesised: a set operation's arm takes no ORDER BY, LIMIT or FOR UPDATE bare.
      sql += "(" + select(1, false) + ")" + (chance(50) ? " UNION " : " UNION ALL ") + "(" + select(1, false) + ")";
    } else {
      sql += select(0, true);
    }
    return sql;
  }
 private:

  std::string expr(int depth) {
    static const std::vector<std::string> columns = {"id", "status", "o.amount", "created", "note"};
    static const std::vector<std::string> literals = {"1", "'Dispatched'", "$1", "2.5", "NULL", "true"};
    static const std::vector<std::string> safe_calls = {"lower", "upper", "length", "abs", "coalesce", "date_trunc",
                                                        "to_char", "md5", "round", "concat", "now", "greatest"};
    static const std::vector<std::string> bad_calls = {
        "nextval('s')",    "setval('s', 1)", "random()",         "pg_advisory_lock(7)", "my_func(id)",
        "current_setting('x')", "pg_backend_pid()", "public.lower(status)", "txid_current()", "clock_timestamp()"};
    static const std::vector<std::string> bad_values = {"current_user", "session_user", "ctid", "o.xmin",
                                                        "'orders'::regclass", "tableoid"};
    int r = roll();
    if (r < 3) return taint(pick(bad_calls));
    if (r < 5) return taint(pick(bad_values));
    if (r < 35) return pick(columns);
    if (r < 55) return pick(literals);
    if (r < 75 && depth < 3) return pick(safe_calls) + "(" + expr(depth + 1) + ")";
    if (r < 82 && depth < 3) return "(" + expr(depth + 1) + " + " + expr(depth + 1) + ")";
    if (r < 88 && depth < 3) return "CAST(" + expr(depth + 1) + " AS text)";
    if (r < 94 && depth < 2) return "(SELECT max(id) FROM items i WHERE i.n = " + expr(depth + 1) + lock() + ")";
    if (depth < 2) return "EXISTS (" + select(depth + 1, false) + ")";
    return pick(columns);
  }

  std::string lock() {
    static const std::vector<std::string> locks = {" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE",
                                                   " FOR KEY SHARE", " FOR UPDATE SKIP LOCKED", " FOR SHARE NOWAIT"};
    return chance(4) ? taint(pick(locks)) : "";
  }

  std::string from(int depth) {
    int r = roll();
    if (r < 2) return taint("pg_stat_activity o");
    if (r < 3) return taint("information_schema.tables o");
    if (r < 4) return taint("orders o TABLESAMPLE SYSTEM (5)");
    if (r < 5) return taint("my_report(1) o");
    if (r < 50) return "orders o";
    if (r < 70) return "orders o JOIN items i ON i.order_id = o.id";
    if (r < 80) return "generate_series(1, 10) o";
    if (depth < 2) return "(" + select(depth + 1, false) + ") o";
    return "orders o";
  }

  std::string with_clause() {
    static const std::vector<std::string> dml = {"DELETE FROM orders WHERE id = 1 RETURNING id",
                                                 "UPDATE orders SET status = 'x' RETURNING id",
                                                 "INSERT INTO log VALUES (1) RETURNING id"};
    if (chance(20)) return "WITH c AS (" + taint(pick(dml)) + ") ";
    return "WITH c AS (" + select(2, false) + ") ";
  }

  std::string select(int depth, bool top) {
    std::string sql = "SELECT " + expr(depth);
    for (int n = between(0, 2); n > 0; --n) sql += ", " + expr(depth);
    if (top && chance(3)) sql += taint(" INTO new_table");
    sql += " FROM " + from(depth);
    if (chance(60)) sql += " WHERE " + expr(depth) + " = " + expr(depth);
    if (chance(30)) sql += " ORDER BY 1";
    if (chance(20)) sql += " LIMIT 10";
    if (top || depth > 0) sql += lock();
    return sql;
  }

};

TEST(PgRoutableRead, PropertyRoutableExactlyWhenNoIngredientKeepsItOnThePrimary) {
  ReadGenerator gen(20261202);
  auto parses = [](const std::string& sql) {
    std::string error;
    ASSERT_EQ(statement_count(sql, &error), 1) << sql << ": " << error;
  };
  test::expect_routable_exactly_when_clean(gen, [](const std::string& sql) { return pg_routable_read(sql); }, 5000,
                                           parses);
}

TEST(PgRoutableRead, PropertyASequenceIsRoutableOnlyWhenEveryStatementIs) {
  ReadGenerator gen(7);
  test::expect_sequence_routable_only_when_every_statement_is(
      gen, [](const std::string& sql) { return pg_routable_read(sql); }, 1000);
}

}  // namespace
}  // namespace sy::rewrite
