// The PostgreSQL read switch on statement texts: what is switched, how, and
// what is reported instead. The real-server oracle (switched reads against
// the original query over legacy := reverse(unified)) is
// tests/integration/test_read_switch_pg.py; these pin the shapes.
#include "rewrite/pg/read_switch.h"

#include <gtest/gtest.h>

#include "rewrite/pg_rewriter.h"
#include "tests/unit/support/test_config.h"

using namespace sy;
using config::Phase;
using rewrite::Decision;
using rewrite::Outcome;

namespace {

// Shipped and Dispatched both map to DISPATCHED, which reads back as Dispatched.
const std::string kConfig = test::dual_write_yaml(
    "[order_status, cashout_status]",
    test::order_status_yaml(R"({ "Awaiting approval": PENDING_APPROVAL, Dispatched: DISPATCHED, Shipped: DISPATCHED,
           Delivered: DELIVERED })",
                            "    reverse: { DISPATCHED: Dispatched }\n") +
        R"(  cashout_status:
    table: cashouts
    legacy_column: status
    unified_column: unified_status
    unreversible: null
    map: { pending: PENDING, paid: COMPLETED }
)");

const std::string kOrderView =
    R"(CASE "orders"."unified_status" WHEN 'PENDING_APPROVAL' THEN 'Awaiting approval' WHEN 'DISPATCHED' THEN )"
    R"('Dispatched' WHEN 'DELIVERED' THEN 'Delivered' ELSE status END)";
const std::string kOrderKeys = R"('PENDING_APPROVAL', 'DISPATCHED', 'DELIVERED')";

struct ReadSwitch : ::testing::Test {
  std::shared_ptr<const config::Config> cfg = test::load_config(kConfig);
  rewrite::MigrationSet ms{*cfg, cfg->tenants.at(0)};
  rewrite::PgRewriter rw{ms};

  Decision run(std::string_view sql, Phase phase = Phase::ReadSwitch) { return rw.rewrite(sql, {.phase = phase}); }

  // The text sent, and the decision's single outcome.
  std::string switched(std::string_view sql, Phase phase = Phase::ReadSwitch) {
    auto d = run(sql, phase);
    EXPECT_EQ(d.action, Decision::Action::Rewrite) << sql;
    for (const auto& e : d.events) EXPECT_EQ(e.outcome, Outcome::ReadSwitched) << sql << ": " << e.reason;
    return d.sql;
  }

  std::string unsupported(std::string_view sql, Phase phase = Phase::ReadSwitch) {
    auto d = run(sql, phase);
    EXPECT_EQ(d.action, Decision::Action::Forward) << sql << " -> " << d.sql;
    EXPECT_EQ(d.events.size(), 1u) << sql;
    if (d.events.size() != 1) return "";
    EXPECT_EQ(d.events[0].outcome, Outcome::ReadUnsupported) << sql;
    return d.events[0].reason;
  }
};

TEST_F(ReadSwitch, ProjectionKeepsTheOutputName) {
  EXPECT_EQ(switched("SELECT id, status FROM orders"), "SELECT id, (" + kOrderView + ") AS \"status\" FROM orders");
  EXPECT_EQ(switched("SELECT status AS s FROM orders"), "SELECT (" + kOrderView + ") AS s FROM orders");
  // In parentheses, the name goes after them.
  EXPECT_EQ(switched("SELECT (status) FROM orders"), "SELECT ((" + kOrderView + ")) AS \"status\" FROM orders");
  // An edited entry keeps the name PostgreSQL gave it: upper(...) is "upper",
  // status::text is "status" (a CASE inside would make it "text").
  EXPECT_EQ(switched("SELECT upper(status) FROM orders"), "SELECT upper((" + kOrderView + ")) AS \"upper\" FROM orders");
  EXPECT_EQ(switched("SELECT status::text, id FROM orders ORDER BY status"),
            "SELECT (" + kOrderView + ")::text AS \"status\", id FROM orders ORDER BY status");
  EXPECT_EQ(switched("SELECT CASE WHEN id > 1 THEN status END FROM orders"),
            "SELECT CASE WHEN id > 1 THEN (" + kOrderView + ") END AS \"case\" FROM orders");
  // Two entries of one name are ambiguous to ORDER BY unless the server finds
  // them equal, which may hang on a typmod the switch does not keep.
  EXPECT_EQ(unsupported("SELECT status, status::varchar FROM orders ORDER BY status"),
            "ORDER BY a name that several switched output columns have");
  // An unedited entry is left alone.
  EXPECT_EQ(run("SELECT id::text FROM orders").action, Decision::Action::Forward);
}

TEST_F(ReadSwitch, GroupedQueriesReadTheGroupedExpression) {
  // HAVING sees groups: the predicate keeps the CASE, which is the grouped expression.
  EXPECT_EQ(switched("SELECT status FROM orders GROUP BY status HAVING status <> 'Delivered'"),
            "SELECT (" + kOrderView + ") AS \"status\" FROM orders GROUP BY (" + kOrderView + ") HAVING (" +
                kOrderView + ") <> 'Delivered'");
  // A subquery cannot read a grouped outer column through an expression.
  EXPECT_EQ(unsupported("SELECT status, (SELECT count(*) FROM cashouts c WHERE orders.status = 'x') FROM orders "
                        "GROUP BY status"),
            "a subquery reads the legacy column of a grouped outer query");
}

TEST_F(ReadSwitch, SchemaQualifiedColumnsWhereTheFromItemNamesTheSchema) {
  auto sql = switched(R"(SELECT ops.orders.status FROM ops.orders WHERE ops.orders.status = 'Delivered')");
  EXPECT_NE(sql.find(R"(CASE "ops"."orders"."unified_status")"), std::string::npos) << sql;
  EXPECT_NE(sql.find(R"(("ops"."orders"."unified_status" IN ('DELIVERED'))"), std::string::npos) << sql;
  EXPECT_NE(unsupported("SELECT public.orders.status FROM orders").find("schema-qualified"), std::string::npos);
}

TEST_F(ReadSwitch, UnderNullAnUnqualifiedNameInAJoinKeepsItsReference) {
  // `status` may be ambiguous between the two: the server must still say so.
  auto sql = switched("SELECT c.id FROM cashouts c JOIN items i ON i.id = c.id WHERE status = 'paid'");
  EXPECT_NE(sql.find("AND ((status = 'paid') IS NULL OR true))"), std::string::npos) << sql;
}

TEST_F(ReadSwitch, UnreversibleNullKeepsTheType) {
  auto sql = switched("SELECT c.status FROM cashouts c");
  EXPECT_NE(sql.find("ELSE CASE WHEN false THEN c.status END END"), std::string::npos) << sql;
}

TEST_F(ReadSwitch, LiteralPredicatesBecomePreimages) {
  const std::string u = R"("orders"."unified_status")";
  const std::string unrev = "(" + u + " IS NULL OR " + u + " NOT IN (" + kOrderKeys + "))";
  EXPECT_EQ(switched("SELECT id FROM orders WHERE status = 'Dispatched'"),
            "SELECT id FROM orders WHERE (" + u + " IN ('DISPATCHED') OR (" + unrev + " AND status = 'Dispatched'))");
  // Shipped reads back as Dispatched: no unified value has Shipped as its reverse.
  EXPECT_EQ(switched("SELECT id FROM orders WHERE status = 'Shipped'"),
            "SELECT id FROM orders WHERE ((" + unrev + " AND status = 'Shipped'))");
  EXPECT_EQ(switched("SELECT id FROM orders WHERE status IN ('Delivered', 'Awaiting approval') AND id > 3"),
            "SELECT id FROM orders WHERE (" + u + " IN ('PENDING_APPROVAL', 'DELIVERED') OR (" + unrev +
                " AND status IN ('Delivered', 'Awaiting approval'))) AND id > 3");
  EXPECT_EQ(switched("SELECT id FROM orders WHERE status LIKE 'D%'"),
            "SELECT id FROM orders WHERE (" + u + " IN ('DISPATCHED', 'DELIVERED') OR (" + unrev +
                " AND status LIKE 'D%'))");
  // Under unreversible: null a value without reverse reads as NULL, which no
  // comparison holds for and IS NULL does.
  const std::string c = R"("cashouts"."unified_status")";
  // The client's predicate stays beside it, folded away by the planner, for
  // the errors it raises (an enum literal, an ambiguous name).
  EXPECT_EQ(switched("SELECT 1 FROM cashouts WHERE status <> 'pending'"),
            "SELECT 1 FROM cashouts WHERE ((" + c + " IN ('COMPLETED')) AND ((status <> 'pending') IS NULL OR true))");
  EXPECT_EQ(switched("SELECT 1 FROM cashouts WHERE status = 'nope'"),
            "SELECT 1 FROM cashouts WHERE ((false) AND ((status = 'nope') IS NULL OR true))");
  EXPECT_EQ(switched("SELECT 1 FROM cashouts WHERE status IS NULL"),
            "SELECT 1 FROM cashouts WHERE (((" + c + " IS NULL OR " + c +
                " NOT IN ('PENDING', 'COMPLETED'))) AND ((status IS NULL) IS NULL OR true))");
}

TEST_F(ReadSwitch, OutsideAFilterThePredicateKeepsTheCase) {
  // NOT turns a NULL into NULL but a false into true: only the CASE is exact there.
  auto sql = switched("SELECT id FROM orders WHERE NOT status = 'Dispatched'");
  EXPECT_EQ(sql, "SELECT id FROM orders WHERE NOT (" + kOrderView + ") = 'Dispatched'");
  sql = switched("SELECT status = 'Dispatched' AS d FROM orders");
  EXPECT_EQ(sql, "SELECT (" + kOrderView + ") = 'Dispatched' AS d FROM orders");
}

TEST_F(ReadSwitch, ParametersAreKept) {
  auto sql = switched("SELECT id FROM orders WHERE status = $1 AND id = $2");
  EXPECT_EQ(sql, "SELECT id FROM orders WHERE (" + kOrderView + ") = $1 AND id = $2");
}

TEST_F(ReadSwitch, NamesResolveLikePostgres) {
  // A CTE named like the table shadows it.
  EXPECT_EQ(run("WITH orders AS (SELECT 'x' AS status) SELECT status FROM orders").action, Decision::Action::Forward);
  // The derived table is switched inside; outside it is just a column.
  auto sql = switched("SELECT s.status FROM (SELECT status FROM orders) s ORDER BY s.status");
  EXPECT_EQ(sql, "SELECT s.status FROM (SELECT (" + kOrderView + ") AS \"status\" FROM orders) s ORDER BY s.status");
  // ORDER BY an output name orders by the (switched) output column.
  EXPECT_EQ(switched("SELECT status FROM orders ORDER BY status"),
            "SELECT (" + kOrderView + ") AS \"status\" FROM orders ORDER BY status");
  // ... while a name that is not an output is the input column.
  EXPECT_EQ(switched("SELECT id FROM orders ORDER BY status"), "SELECT id FROM orders ORDER BY (" + kOrderView + ")");
  // GROUP BY prefers the input column.
  EXPECT_EQ(switched("SELECT count(*) FROM orders GROUP BY status"),
            "SELECT count(*) FROM orders GROUP BY (" + kOrderView + ")");
  // Qualified by alias, in a join with another migrated table.
  sql = switched("SELECT o.id FROM orders o JOIN cashouts c ON c.status = o.status");
  EXPECT_NE(sql.find(R"(CASE "c"."unified_status")"), std::string::npos) << sql;
  EXPECT_NE(sql.find(R"(CASE "o"."unified_status")"), std::string::npos) << sql;
  // A correlated reference from a subquery whose own FROM lists only known columns.
  sql = switched("SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM (SELECT 1 AS n) x WHERE status = 'Delivered')");
  EXPECT_NE(sql.find(R"("orders"."unified_status" IN ('DELIVERED'))"), std::string::npos) << sql;
  // Set operations: each branch on its own; ORDER BY names the result's column.
  sql = switched("SELECT status FROM orders UNION ALL SELECT status FROM cashouts ORDER BY status");
  EXPECT_NE(sql.find("ORDER BY status"), std::string::npos) << sql;
}

TEST_F(ReadSwitch, WhatCannotBeSwitchedIsReported) {
  EXPECT_EQ(unsupported("SELECT * FROM orders"), "SELECT * over migrated table orders");
  EXPECT_EQ(unsupported("SELECT o.* FROM orders o"), "o.* over migrated table orders");
  EXPECT_EQ(unsupported("SELECT row_to_json(o) FROM orders o"), "a whole-row reference to migrated table orders");
  EXPECT_EQ(unsupported("SELECT id FROM orders NATURAL JOIN cashouts"), "NATURAL JOIN with a migrated table");
  EXPECT_EQ(unsupported("SELECT id FROM orders JOIN cashouts USING (status)"), "JOIN ... USING the legacy column");
  EXPECT_NE(unsupported("SELECT id FROM orders WHERE id IN (SELECT order_id FROM items WHERE status = 'x')")
                .find("cannot tell"),
            std::string::npos);
  EXPECT_EQ(unsupported("COPY orders TO STDOUT"), "COPY orders TO reads the stored legacy column");
  EXPECT_NE(unsupported("CREATE VIEW v AS SELECT status FROM orders").find("CREATE VIEW"), std::string::npos);
  EXPECT_EQ(unsupported("SELECT status FROM orders, cashouts"),
            "an unqualified status that more than one migrated table has");
  // EXISTS (SELECT * ...) shows no columns: fine.
  switched("SELECT id FROM cashouts c WHERE c.status = 'paid' AND EXISTS (SELECT * FROM orders o WHERE o.id = c.id)");
}

TEST_F(ReadSwitch, WrappersAreSwitchedInside) {
  for (const char* sql : {"EXPLAIN SELECT id FROM orders WHERE status = 'Delivered'",
                          "PREPARE p AS SELECT id FROM orders WHERE status = 'Delivered'",
                          "DECLARE c CURSOR FOR SELECT id FROM orders WHERE status = 'Delivered'",
                          "COPY (SELECT id FROM orders WHERE status = 'Delivered') TO STDOUT"})
    EXPECT_NE(switched(sql).find(R"("orders"."unified_status" IN ('DELIVERED'))"), std::string::npos) << sql;
}

TEST_F(ReadSwitch, OnlyReadPhasesSwitch) {
  for (auto phase : {Phase::Off, Phase::Observe, Phase::DualWrite}) {
    auto d = run("SELECT status FROM orders WHERE status = 'Delivered'", phase);
    EXPECT_EQ(d.action, Decision::Action::Forward);
    EXPECT_TRUE(d.events.empty());
  }
  // In read_switch writes still read the (dual-written) stored column.
  auto d = run("UPDATE orders SET note = 'x' WHERE status = 'Delivered'", Phase::ReadSwitch);
  EXPECT_EQ(d.action, Decision::Action::Forward);
}

TEST_F(ReadSwitch, CleanupWritesReadLegacyPrime) {
  auto sql = switched("UPDATE orders SET note = status WHERE status = 'Delivered' RETURNING status", Phase::Cleanup);
  EXPECT_EQ(sql, "UPDATE orders SET note = (" + kOrderView + R"() WHERE ("orders"."unified_status" IN ('DELIVERED') OR ()"
                     R"(("orders"."unified_status" IS NULL OR "orders"."unified_status" NOT IN ()" +
                     kOrderKeys + ")) AND status = 'Delivered')) RETURNING (" + kOrderView + ") AS \"status\"");
  // The write's own assignment is the write rewrite's; its WHERE is ours.
  auto d = run("UPDATE orders SET status = 'Delivered' WHERE status = 'Dispatched'", Phase::Cleanup);
  ASSERT_EQ(d.action, Decision::Action::Rewrite);
  EXPECT_EQ(d.sql.find("SET \"unified_status\" = 'DELIVERED' WHERE (\"orders\".\"unified_status\" IN ('DISPATCHED')"),
            std::string("UPDATE orders ").size())
      << d.sql;
  // A value written that reads the column it replaces: the write is unsupported.
  d = run("UPDATE orders SET status = CASE WHEN status = 'Dispatched' THEN 'Delivered' END", Phase::Cleanup);
  EXPECT_EQ(d.action, Decision::Action::Forward);
  ASSERT_FALSE(d.events.empty());
  EXPECT_EQ(d.events.back().outcome, Outcome::Unsupported);
  // INSERT ... SELECT reads the source as legacy'.
  sql = switched("INSERT INTO archive (id, s) SELECT id, status FROM orders", Phase::Cleanup);
  EXPECT_NE(sql.find("SELECT id, (" + kOrderView + ") AS \"status\" FROM orders"), std::string::npos) << sql;
}

TEST(SqlLike, FollowsPostgres) {
  using rewrite::sql_like;
  EXPECT_TRUE(*sql_like("Dispatched", "D%"));
  EXPECT_TRUE(*sql_like("Dispatched", "%patch%"));
  EXPECT_FALSE(*sql_like("Dispatched", "d%"));  // case-sensitive
  EXPECT_TRUE(*sql_like("abc", "a_c"));
  EXPECT_FALSE(*sql_like("abbc", "a_c"));
  EXPECT_TRUE(*sql_like("", "%"));
  EXPECT_FALSE(*sql_like("", "_"));
  EXPECT_TRUE(*sql_like("a%b", "a\\%b"));
  EXPECT_FALSE(*sql_like("axb", "a\\%b"));
  EXPECT_TRUE(*sql_like("é", "_"));  // one character, two bytes
  EXPECT_TRUE(*sql_like("aXbXc", "%X%X%"));
  EXPECT_FALSE(*sql_like("aXbc", "%X%X%"));
  EXPECT_FALSE(sql_like("x", "x\\").has_value());
}

}  // namespace

// ---- the shape the shadow comparator reads (ReadShape) ----------------------------

namespace {
std::vector<size_t> positions(const rewrite::ReadShape& s) {
  std::vector<size_t> out;
  for (const auto& so : s.status_outputs) out.push_back(so.position);
  return out;
}
}  // namespace

TEST_F(ReadSwitch, ShapeNamesTheStatusOutputs) {
  auto d = run("SELECT id, status, o.status AS s2 FROM orders o WHERE id = $1");
  ASSERT_TRUE(d.read_shape);
  EXPECT_EQ(positions(*d.read_shape), (std::vector<size_t>{1, 2}));
  EXPECT_EQ(d.read_shape->status_outputs[0].migration, "order_status");
  EXPECT_TRUE(d.read_shape->read_elsewhere.empty());
  EXPECT_FALSE(d.read_shape->ordered);
  EXPECT_FALSE(d.read_shape->limited);
}

TEST_F(ReadSwitch, ShapeSaysWhereElseTheColumnIsRead) {
  // A filter, an expression, a subquery: not a plain output.
  for (const char* sql : {"SELECT id FROM orders WHERE status = 'Dispatched'", "SELECT upper(status) FROM orders",
                          "SELECT id, status FROM orders WHERE status LIKE $1",
                          "SELECT id FROM orders WHERE id IN (SELECT id FROM orders WHERE status <> 'Delivered')"}) {
    auto d = run(sql);
    ASSERT_TRUE(d.read_shape) << sql;
    EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"order_status"}) << sql;
  }
  // Grouping, DISTINCT and ordering by the status output merge or order rows by its text.
  for (const char* sql : {"SELECT status, count(*) FROM orders GROUP BY status", "SELECT DISTINCT status FROM orders",
                          "SELECT id, status FROM orders ORDER BY status", "SELECT id, status FROM orders ORDER BY 2"}) {
    auto d = run(sql);
    ASSERT_TRUE(d.read_shape) << sql;
    EXPECT_EQ(positions(*d.read_shape), std::vector<size_t>{d.read_shape->status_outputs[0].position}) << sql;
    EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"order_status"}) << sql;
  }
}

TEST_F(ReadSwitch, ShapeOrderAndLimit) {
  auto d = run("SELECT o.id, status, created FROM orders o ORDER BY created DESC, o.id LIMIT 10");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->ordered);
  EXPECT_EQ(d.read_shape->order_keys, (std::vector<size_t>{2, 0}));
  EXPECT_TRUE(d.read_shape->limited);
  EXPECT_EQ(d.read_shape->limit, 10);
  EXPECT_TRUE(d.read_shape->read_elsewhere.empty());

  d = run("SELECT id, status FROM orders ORDER BY 1 LIMIT $2 OFFSET $1");
  ASSERT_TRUE(d.read_shape);
  EXPECT_EQ(d.read_shape->order_keys, std::vector<size_t>{0});
  EXPECT_EQ(d.read_shape->limit, -1);
  EXPECT_EQ(d.read_shape->limit_param, 2);

  // An order by something that is not an output: the keys are unknown.
  d = run("SELECT id, status FROM orders ORDER BY created, id");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->ordered);
  EXPECT_TRUE(d.read_shape->order_keys.empty());
}

TEST_F(ReadSwitch, ShapeOnlyForOneSwitchedSelect) {
  EXPECT_FALSE(run("SELECT id, status FROM orders; SELECT 1").read_shape);
  EXPECT_FALSE(run("SELECT id FROM customers").read_shape);
  EXPECT_FALSE(run("SELECT * FROM orders").read_shape);  // read_unsupported
  EXPECT_FALSE(run("UPDATE orders SET status = 'Delivered' WHERE id = 1").read_shape);
  // Positions after a `*` are unknown: that output counts as read elsewhere.
  auto d = run("SELECT c.*, o.status FROM customers c JOIN orders o ON o.customer_id = c.id");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->status_outputs.empty());
  EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"order_status"});
}
