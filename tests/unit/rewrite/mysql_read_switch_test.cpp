// The MySQL read switch (rewrite/mysql/read_switch): the shapes it switches,
// text for text, and the reasons it gives for those it leaves alone. The
// results themselves are judged against MariaDB by
// tests/integration/test_read_switch_mysql.py.
#include <gtest/gtest.h>

#include <random>

#include "rewrite/mysql_rewriter.h"
#include "rewrite/sql_lexer.h"
#include "tests/unit/support/test_config.h"

using namespace sy;
using rewrite::Decision;
using rewrite::Outcome;

namespace {

const char* kConfig = R"(listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:3307
    targets: { legacy: { address: 127.0.0.1:3306 } }
tenants:
  - name: t
    match: { listener: my, database: app }
    phase: read_switch
    migrations: [transfer_state, order_status]
migrations:
  transfer_state:
    table: transfers
    legacy_column: state
    unified_column: unified_state
    map: { draft: OPEN, sent: SENT, received: RECEIVED, completed: RECEIVED }
    reverse: { RECEIVED: received }
  order_status:
    table: orders
    legacy_column: status
    unified_column: unified_status
    map: { "it's": ODD }
    unreversible: "null"
)";

// legacy' of transfers.state for a table named `q` (already quoted), the
// reference spelled `legacy` in the statement.
std::string view(const std::string& q, const std::string& legacy = "state") {
  return "CASE " + q + ".`unified_state` WHEN 'OPEN' THEN 'draft' WHEN 'SENT' THEN 'sent' WHEN 'RECEIVED' THEN 'received' "
         "ELSE " + legacy + " END";
}

int params(std::string_view sql) {
  int n = 0;
  for (const auto& t : rewrite::lex_sql(sql, rewrite::Dialect::Mysql)) n += t.kind == rewrite::TokenKind::Param;
  return n;
}

class MysqlReadSwitch : public ::testing::Test {
 protected:
  std::shared_ptr<const config::Config> cfg = test::load_config(kConfig);
  rewrite::MigrationSet ms{*cfg, cfg->tenants.at(0)};
  rewrite::MysqlRewriter rw{ms};

  Decision decide(const std::string& sql, config::Phase phase = config::Phase::ReadSwitch) {
    return rw.rewrite(sql, {.phase = phase});
  }
  // The switched text; fails the test unless the statement was read_switched.
  std::string switched(const std::string& sql, config::Phase phase = config::Phase::ReadSwitch) {
    auto d = decide(sql, phase);
    EXPECT_EQ(d.action, Decision::Action::Rewrite) << sql;
    bool any = false;
    for (const auto& ev : d.events) {
      EXPECT_NE(ev.outcome, Outcome::ReadUnsupported) << sql << ": " << ev.reason;
      any = any || ev.outcome == Outcome::ReadSwitched;
    }
    EXPECT_TRUE(any) << sql;
    EXPECT_EQ(params(d.sql), params(sql)) << d.sql;
    return d.sql;
  }
  // The read_unsupported reason; fails the test unless the text goes through unchanged.
  std::string unsupported(const std::string& sql) {
    auto d = decide(sql);
    EXPECT_EQ(d.action, Decision::Action::Forward) << sql << "\n -> " << d.sql;
    for (const auto& ev : d.events)
      if (ev.outcome == Outcome::ReadUnsupported) return ev.reason;
    ADD_FAILURE() << "not read_unsupported: " << sql;
    return "";
  }
  bool untouched(const std::string& sql, config::Phase phase = config::Phase::ReadSwitch) {
    auto d = decide(sql, phase);
    return d.action == Decision::Action::Forward && d.events.empty();
  }
};

}  // namespace

TEST_F(MysqlReadSwitch, ProjectionKeepsTheOutputName) {
  EXPECT_EQ(switched("SELECT id, state FROM transfers"), "SELECT id, " + view("`transfers`") + " AS state FROM transfers");
  EXPECT_EQ(switched("SELECT t.`state` FROM transfers t"), "SELECT " + view("`t`", "t.`state`") + " AS `state` FROM transfers t");
  EXPECT_EQ(switched("SELECT STATE AS s FROM transfers AS t"), "SELECT " + view("`t`", "STATE") + " AS s FROM transfers AS t");
  EXPECT_EQ(switched("SELECT state st FROM transfers"), "SELECT " + view("`transfers`") + " st FROM transfers");
  // An unaliased expression is named after its text, which the rewrite changes: the name is given back.
  EXPECT_EQ(switched("SELECT UPPER( state ) FROM transfers"),
            "SELECT UPPER( " + view("`transfers`") + " ) AS `UPPER( state )` FROM transfers");
}

TEST_F(MysqlReadSwitch, PredicatesKeepTheCaseFormAndParameters) {
  EXPECT_EQ(switched("SELECT id FROM transfers WHERE state IN (?, 'sent') AND id > ?"),
            "SELECT id FROM transfers WHERE " + view("`transfers`") + " IN (?, 'sent') AND id > ?");
  EXPECT_EQ(switched("SELECT id FROM app.transfers WHERE app.transfers.state IS NULL"),
            "SELECT id FROM app.transfers WHERE " + view("`app`.`transfers`", "app.transfers.state") + " IS NULL");
  // unreversible: null keeps the legacy column's type with a NULL of it
  EXPECT_NE(switched("SELECT status FROM orders").find("WHEN 'ODD' THEN _utf8mb4 X'69742773' ELSE CASE WHEN false THEN status END END AS status"),
            std::string::npos);
}

TEST_F(MysqlReadSwitch, JoinsAliasesAndSubqueries) {
  auto sql = switched(
      "SELECT t.id, o.state FROM transfers t JOIN outlets o ON o.id = t.outlet_from AND t.state = 'sent' "
      "LEFT JOIN transfers AS u ON u.id = t.id WHERE u.state <> ? GROUP BY t.state ORDER BY t.state DESC LIMIT ?");
  EXPECT_EQ(sql, "SELECT t.id, o.state FROM transfers t JOIN outlets o ON o.id = t.outlet_from AND " + view("`t`", "t.state") +
                     " = 'sent' LEFT JOIN transfers AS u ON u.id = t.id WHERE " + view("`u`", "u.state") + " <> ? GROUP BY " +
                     view("`t`", "t.state") + " ORDER BY MIN(" + view("`t`", "t.state") + ") DESC LIMIT ?");
  // correlated: the outer table's name qualifies the inner reference
  EXPECT_EQ(switched("SELECT name FROM outlets o WHERE EXISTS (SELECT * FROM transfers t WHERE t.outlet_from = o.id AND state = 'sent')"),
            "SELECT name FROM outlets o WHERE EXISTS (SELECT * FROM transfers t WHERE t.outlet_from = o.id AND " +
                view("`t`") + " = 'sent')");
  EXPECT_EQ(switched("SELECT (SELECT MAX(i.qty) FROM items i WHERE i.tid = t.id AND t.state = 'draft') FROM transfers t"),
            "SELECT (SELECT MAX(i.qty) FROM items i WHERE i.tid = t.id AND " + view("`t`", "t.state") +
                " = 'draft') AS `(SELECT MAX(i.qty) FROM items i WHERE i.tid = t.id AND t.state = 'draft')` FROM transfers t");
  // a derived table's column is already switched: d.state is left alone
  EXPECT_EQ(switched("SELECT d.state FROM (SELECT state FROM transfers) d WHERE d.state = 'sent'"),
            "SELECT d.state FROM (SELECT " + view("`transfers`") + " AS state FROM transfers) d WHERE d.state = 'sent'");
}

TEST_F(MysqlReadSwitch, CompoundsAndCommonTableExpressions) {
  // every arm in its own scope; the compound's ORDER BY names output columns
  EXPECT_EQ(switched("SELECT state FROM transfers UNION ALL (SELECT state FROM outlets) ORDER BY state LIMIT 3"),
            "SELECT " + view("`transfers`") + " AS state FROM transfers UNION ALL (SELECT state FROM outlets) ORDER BY state LIMIT 3");
  EXPECT_EQ(switched("(SELECT t.state FROM transfers t) EXCEPT SELECT s FROM x"),
            "(SELECT " + view("`t`", "t.state") + " AS state FROM transfers t) EXCEPT SELECT s FROM x");
  // a CTE's columns are already switched; its name is no migrated table
  EXPECT_EQ(switched("WITH c (st) AS (SELECT state FROM transfers) SELECT st, state FROM c"),
            "WITH c (st) AS (SELECT " + view("`transfers`") + " AS state FROM transfers) SELECT st, state FROM c");
  EXPECT_EQ(switched("SELECT id FROM transfers WHERE state IN (SELECT state FROM transfers UNION SELECT 'x')"),
            "SELECT id FROM transfers WHERE " + view("`transfers`") + " IN (SELECT " + view("`transfers`") +
                " AS state FROM transfers UNION SELECT 'x')");
}

TEST_F(MysqlReadSwitch, NamesResolveAsTheServerResolvesThem) {
  // ORDER BY prefers the select list's output names: here the alias, not the column.
  EXPECT_TRUE(untouched("SELECT unified_state AS state FROM transfers ORDER BY state"));
  // the switched bare item's alias already means legacy'
  EXPECT_EQ(switched("SELECT state FROM transfers ORDER BY state"),
            "SELECT " + view("`transfers`") + " AS state FROM transfers ORDER BY state");
  EXPECT_EQ(switched("SELECT state, COUNT(*) FROM transfers GROUP BY state HAVING state <> 'x' AND MAX(state) > 'a'"),
            "SELECT MIN(" + view("`transfers`") + ") AS state, COUNT(*) FROM transfers GROUP BY " + view("`transfers`") +
                " HAVING state <> 'x' AND MAX(" + view("`transfers`") + ") > 'a'");
  // Grouped by legacy', the select list, HAVING and ORDER BY read MIN(legacy'): the
  // group's one value, which MariaDB accepts under ONLY_FULL_GROUP_BY and in HAVING.
  EXPECT_EQ(switched("SELECT COUNT(*) FROM transfers t GROUP BY t.state HAVING t.state <> 'x' ORDER BY t.state"),
            "SELECT COUNT(*) FROM transfers t GROUP BY " + view("`t`", "t.state") + " HAVING MIN(" + view("`t`", "t.state") +
                ") <> 'x' ORDER BY MIN(" + view("`t`", "t.state") + ")");
  // WITH ROLLUP: the super-aggregate rows would not be NULL under MIN
  EXPECT_EQ(switched("SELECT state FROM transfers GROUP BY state WITH ROLLUP"),
            "SELECT " + view("`transfers`") + " AS state FROM transfers GROUP BY " + view("`transfers`") + " WITH ROLLUP");
  // outlets.state is not transfers.state; a variable is not a column
  EXPECT_TRUE(untouched("SELECT o.state, @state FROM outlets o JOIN transfers t ON t.id = o.id"));
  EXPECT_EQ(switched("SELECT CAST(state AS CHAR) FROM transfers WHERE state COLLATE utf8mb4_bin = 'sent'"),
            "SELECT CAST(" + view("`transfers`") + " AS CHAR) AS `CAST(state AS CHAR)` FROM transfers WHERE " +
                view("`transfers`") + " COLLATE utf8mb4_bin = 'sent'");
}

TEST_F(MysqlReadSwitch, UnsupportedShapesAreForwardedWithAReason) {
  EXPECT_EQ(unsupported("SELECT * FROM transfers"), "SELECT * over a migrated table");
  EXPECT_EQ(unsupported("SELECT t.*, o.* FROM transfers t JOIN outlets o ON o.id = t.id"), "t.* over a migrated table");
  EXPECT_NE(unsupported("SELECT id FROM transfers WHERE outlet_from IN (SELECT id FROM outlets WHERE state = 'NSW')")
                .find("cannot tell whether state names the legacy column"),
            std::string::npos);
  // after a comma only the join's own tables are visible to its ON: state may be theirs or an error
  EXPECT_NE(unsupported("SELECT 1 FROM transfers t, staging s JOIN x ON state = 'a'").find("cannot tell"),
            std::string::npos);
  EXPECT_EQ(unsupported("SELECT t.state FROM transfers t JOIN transfers u ON u.id = t.id WHERE state = 'x'"),
            "column state is ambiguous");
  EXPECT_EQ(unsupported("SELECT id FROM transfers WHERE note = 'a\\'' OR state = 'x'"),
            "a backslash in a string literal (where it ends depends on NO_BACKSLASH_ESCAPES)");
  EXPECT_EQ(unsupported("TABLE transfers"), "TABLE reads every column of a migrated table");
  EXPECT_EQ(unsupported("SELECT state FROM transfers UNION SELECT 'x' ORDER BY (SELECT 1)"),
            "a subquery in the ORDER BY or LIMIT of a compound SELECT");
  EXPECT_EQ(unsupported("SELECT state INTO @s FROM transfers LIMIT 1"), "SELECT ... INTO is not switched");
  EXPECT_EQ(unsupported("SELECT /*!40001 SQL_NO_CACHE */ state FROM transfers"), "executable comment /*! */");
  EXPECT_EQ(unsupported("WITH transfers AS (SELECT 1 AS state) SELECT state FROM transfers"),
            "a CTE named like the migrated table transfers");
  EXPECT_EQ(unsupported("SELECT id FROM transfers NATURAL JOIN outlets"), "NATURAL join with a migrated table");
  EXPECT_EQ(unsupported("SELECT id FROM transfers JOIN outlets USING (state)"), "USING (state) on a migrated table");
  EXPECT_EQ(unsupported("SELECT id FROM transfers WHERE \"state\" = 'x'"), "double-quoted name (an identifier under ANSI_QUOTES)");
  EXPECT_EQ(unsupported("SELECT state FROM TRANSFERS"), "table TRANSFERS differs from migrated table transfers only in letter case");
  EXPECT_EQ(unsupported("SELECT unified_state AS state FROM transfers GROUP BY state"),
            "state is both a select-list name and the legacy column");
  EXPECT_EQ(unsupported("SELECT COUNT(*) FROM transfers GROUP BY id HAVING state = 'x'"),
            "HAVING reads state outside an aggregate, the select list and GROUP BY");
  EXPECT_EQ(unsupported("SET @s = (SELECT state FROM transfers WHERE id = 1)"), "a SET statement is not switched");
  EXPECT_EQ(unsupported("PREPARE p FROM 'SELECT state FROM transfers'"),
            "PREPARE ... FROM: the statement text is not switched");
  EXPECT_EQ(unsupported("SELECT id FROM (SELECT * FROM transfers) d"), "SELECT * over a migrated table");
}

TEST_F(MysqlReadSwitch, NothingToSwitch) {
  EXPECT_TRUE(untouched("SELECT id, unified_state FROM transfers WHERE id = 1"));
  EXPECT_TRUE(untouched("SELECT COUNT(*) FROM transfers"));
  EXPECT_TRUE(untouched("SELECT state FROM outlets"));
  EXPECT_TRUE(untouched("EXPLAIN SELECT state FROM transfers"));
  EXPECT_TRUE(untouched("SELECT 'state' FROM transfers"));
  // a backslash matters only where some lexing could find a legacy read
  EXPECT_TRUE(untouched("SELECT id FROM transfers WHERE note LIKE 'a\\_b'"));
  // an ON sees only the tables joined so far: this state cannot be transfers' (else the server says 1054)
  EXPECT_TRUE(untouched("SELECT 1 FROM staging s JOIN x ON state = 'a' JOIN transfers t ON t.id = s.id"));
  // phases before read_switch leave reads alone
  EXPECT_TRUE(untouched("SELECT state FROM transfers", config::Phase::DualWrite));
  EXPECT_TRUE(untouched("SELECT * FROM transfers", config::Phase::Observe));
}

TEST_F(MysqlReadSwitch, MultiStatementTextsSwitchEachStatement) {
  EXPECT_EQ(switched("SELECT 1; SELECT state FROM transfers; SELECT * FROM outlets"),
            "SELECT 1; SELECT " + view("`transfers`") + " AS state FROM transfers; SELECT * FROM outlets");
  auto d = decide("SELECT state FROM transfers; SELECT * FROM transfers");
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].outcome, Outcome::ReadSwitched);
  EXPECT_EQ(d.events[1].outcome, Outcome::ReadUnsupported);
}

TEST_F(MysqlReadSwitch, WritesInReadSwitchAreOnlyDualWritten) {
  auto d = decide("UPDATE transfers SET state = 'sent' WHERE state = 'draft'");
  ASSERT_EQ(d.action, Decision::Action::Rewrite);
  EXPECT_EQ(d.sql, "UPDATE transfers SET state = 'sent', `unified_state` = 'SENT' WHERE state = 'draft'");
}

TEST_F(MysqlReadSwitch, CleanupWritesReadTheSwitchedColumn) {
  const auto cleanup = config::Phase::Cleanup;
  EXPECT_EQ(switched("UPDATE transfers SET `unified_state` = 'SENT', note = state WHERE state = 'draft' ORDER BY state LIMIT 2",
                     cleanup),
            "UPDATE transfers SET `unified_state` = 'SENT', note = " + view("`transfers`") + " WHERE " +
                view("`transfers`") + " = 'draft' ORDER BY " + view("`transfers`") + " LIMIT 2");
  EXPECT_EQ(switched("UPDATE transfers SET state = 'sent' WHERE state = 'draft'", cleanup),
            "UPDATE transfers SET `unified_state` = 'SENT' WHERE " + view("`transfers`") + " = 'draft'");
  EXPECT_EQ(switched("DELETE FROM transfers WHERE state IN (SELECT s FROM x)", cleanup),
            "DELETE FROM transfers WHERE " + view("`transfers`") + " IN (SELECT s FROM x)");
  EXPECT_EQ(switched("INSERT INTO staging (id, state) SELECT id, state FROM transfers t WHERE t.state <> 'draft'", cleanup),
            "INSERT INTO staging (id, state) SELECT id, " + view("`t`") + " AS state FROM transfers t WHERE " + view("`t`", "t.state") +
                " <> 'draft'");
  // what cannot be followed is an unsupported write, never a silent stale read
  auto reason = [&](const std::string& sql) {
    auto d = decide(sql, cleanup);
    EXPECT_EQ(d.action, Decision::Action::Forward) << sql;
    for (const auto& ev : d.events)
      if (ev.outcome == Outcome::Unsupported) return ev.reason;
    ADD_FAILURE() << "not unsupported: " << sql;
    return std::string();
  };
  EXPECT_EQ(reason("UPDATE transfers SET state = CONCAT(state, '') WHERE id = 1"),
            "cleanup write computes the legacy value it writes from the legacy column");
  EXPECT_EQ(reason("DELETE t FROM transfers t JOIN x ON x.id = t.id WHERE t.state = 'draft'"),
            "cleanup write reads the legacy column: multi-table DELETE is not switched");
  EXPECT_EQ(switched("INSERT INTO log (id, s) VALUES (1, (SELECT state FROM transfers WHERE id = 1)) "
                     "ON DUPLICATE KEY UPDATE s = VALUES(s)",
                     cleanup),
            "INSERT INTO log (id, s) VALUES (1, (SELECT " + view("`transfers`") +
                " AS state FROM transfers WHERE id = 1)) ON DUPLICATE KEY UPDATE s = VALUES(s)");
  EXPECT_EQ(reason("INSERT INTO transfers (id, note, unified_state) VALUES (1, state, NULL)"),
            "cleanup write reads the legacy column: an inserted row reads the legacy column state");
  EXPECT_EQ(reason("INSERT INTO transfers (id, note, unified_state) VALUES (1, 'x', NULL) ON DUPLICATE KEY UPDATE "
                   "note = state"),
            "cleanup write reads the legacy column: ON DUPLICATE KEY UPDATE reads the legacy column");
}

// Property: over thousands of generated SELECTs, a read is either switched
// with its statements and parameters intact, or forwarded byte for byte.
TEST_F(MysqlReadSwitch, GeneratedSelectsKeepStatementsAndParameters) {
  std::mt19937 rng(12);
  const std::vector<std::string> items = {"state", "t.state", "UPPER(state)", "state AS s", "COUNT(*)", "id",
                                          "*", "t.*", "(SELECT MAX(x) FROM y WHERE y.id = t.id)", "@state", "? AS p"};
  const std::vector<std::string> froms = {"transfers", "transfers t", "app.transfers AS t",
                                          "transfers t JOIN outlets o ON o.id = t.id AND t.state = ?",
                                          "transfers t LEFT JOIN outlets o ON o.state = t.state",
                                          "(SELECT id, state FROM transfers) t", "outlets o, transfers t"};
  const std::vector<std::string> wheres = {"", " WHERE state = ?", " WHERE t.state IN ('sent', ?)",
                                           " WHERE id IN (SELECT id FROM z WHERE state = 'x')",
                                           " WHERE EXISTS (SELECT * FROM transfers u WHERE u.state = t.state)",
                                           " WHERE state IS NULL OR state LIKE 's%'"};
  const std::vector<std::string> tails = {"", " GROUP BY state", " ORDER BY state DESC, id LIMIT ?",
                                          " GROUP BY t.state HAVING COUNT(*) > ?", " LIMIT 1", " UNION SELECT 1"};
  const std::vector<std::string> gaps = {" ", "\n", " /* c, ( ' */ ", " # h\n", " -- d\n"};
  int switched_n = 0, unsupported_n = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string sql = "SELECT" + gaps[rng() % gaps.size()] + items[rng() % items.size()];
    if (rng() % 2) sql += ", " + items[rng() % items.size()];
    sql += " FROM " + froms[rng() % froms.size()] + wheres[rng() % wheres.size()] + tails[rng() % tails.size()];
    if (rng() % 4 == 0) sql += "; SELECT state FROM transfers WHERE id = ?";
    auto d = decide(sql, rng() % 2 ? config::Phase::ReadSwitch : config::Phase::Cleanup);
    bool any_unsupported = false, any_switched = false;
    for (const auto& ev : d.events) {
      any_unsupported = any_unsupported || ev.outcome == Outcome::ReadUnsupported;
      any_switched = any_switched || ev.outcome == Outcome::ReadSwitched;
      EXPECT_TRUE(ev.outcome == Outcome::ReadUnsupported || ev.outcome == Outcome::ReadSwitched) << sql;
    }
    unsupported_n += any_unsupported;
    switched_n += any_switched;
    if (d.action == Decision::Action::Rewrite) {
      EXPECT_TRUE(any_switched) << sql;
      EXPECT_EQ(params(d.sql), params(sql)) << sql << "\n" << d.sql;
      auto semis = [](std::string_view s) {
        int n = 0;
        for (const auto& t : rewrite::lex_sql(s, rewrite::Dialect::Mysql)) n += t.kind == rewrite::TokenKind::Semicolon;
        return n;
      };
      EXPECT_EQ(semis(d.sql), semis(sql)) << sql;
    } else {
      EXPECT_FALSE(any_switched) << sql;
    }
  }
  EXPECT_GT(switched_n, 1000);
  EXPECT_GT(unsupported_n, 300);
}

// Garbage in: fragments of every shape the recogniser knows, shuffled, with
// unbalanced brackets and cut-off strings. It must neither crash nor read
// out of bounds (the sanitizer build runs this too), and what it rewrites
// keeps its `?`.
TEST_F(MysqlReadSwitch, TokenSoupNeverBreaksIt) {
  std::mt19937 rng(99);
  const std::vector<std::string> bits = {
      "SELECT", "state", "t.state", "transfers", "t", "AS", "FROM", "JOIN", "LEFT", "ON", "USING", "(", ")", ",", "*",
      ".", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "?", "'x'", "\"state\"", "`state`", "@", "=", "IN",
      "EXISTS", "UNION", "WITH", "INTO", "/*!1 x */", "UPDATE", "SET", "DELETE", "INSERT", "VALUES", "ON DUPLICATE KEY UPDATE",
      "RETURNING", "COUNT", "MAX", "NATURAL", "PARTITION", "FORCE INDEX", "FOR", "'unterminated", ";", "app", "DISTINCT"};
  for (int i = 0; i < 5000; ++i) {
    std::string sql = rng() % 2 ? "SELECT " : (rng() % 2 ? "UPDATE " : "DELETE FROM ");
    const int n = 1 + static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) sql += bits[rng() % bits.size()] + " ";
    auto d = decide(sql, rng() % 2 ? config::Phase::ReadSwitch : config::Phase::Cleanup);
    if (d.action == Decision::Action::Rewrite && !d.rejected) {
      EXPECT_EQ(params(d.sql), params(sql)) << sql;
    }
  }
}

// ---- the shape the shadow comparator reads (ReadShape) ----------------------------

namespace {
std::vector<size_t> positions(const rewrite::ReadShape& s) {
  std::vector<size_t> out;
  for (const auto& so : s.status_outputs) out.push_back(so.position);
  return out;
}
}  // namespace

TEST_F(MysqlReadSwitch, ShapeNamesTheStatusOutputs) {
  auto d = decide("SELECT id, state, t.state AS s2 FROM transfers t WHERE id = ?");
  ASSERT_TRUE(d.read_shape);
  EXPECT_EQ(positions(*d.read_shape), (std::vector<size_t>{1, 2}));
  EXPECT_EQ(d.read_shape->status_outputs[0].migration, "transfer_state");
  EXPECT_TRUE(d.read_shape->read_elsewhere.empty());
  EXPECT_FALSE(d.read_shape->ordered);
  EXPECT_FALSE(d.read_shape->limited);
}

TEST_F(MysqlReadSwitch, ShapeSaysWhereElseTheColumnIsRead) {
  // A filter, an expression, a subquery: not a plain output.
  for (const char* sql : {"SELECT id FROM transfers WHERE state = 'sent'", "SELECT UPPER(state) FROM transfers",
                          "SELECT id, state FROM transfers WHERE state LIKE ?",
                          "SELECT id FROM transfers WHERE id IN (SELECT id FROM transfers WHERE state <> 'sent')"}) {
    auto d = decide(sql);
    ASSERT_TRUE(d.read_shape) << sql;
    EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"transfer_state"}) << sql;
  }
  // Grouping, DISTINCT and ordering by the status output merge or order rows by its text.
  for (const char* sql : {"SELECT state, COUNT(*) FROM transfers GROUP BY state", "SELECT DISTINCT state FROM transfers",
                          "SELECT id, state FROM transfers ORDER BY state", "SELECT id, state FROM transfers ORDER BY 2"}) {
    auto d = decide(sql);
    ASSERT_TRUE(d.read_shape) << sql;
    ASSERT_EQ(d.read_shape->status_outputs.size(), 1u) << sql;
    EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"transfer_state"}) << sql;
  }
}

TEST_F(MysqlReadSwitch, ShapeOrderAndLimit) {
  auto d = decide("SELECT t.id, state, created FROM transfers t ORDER BY created DESC, t.id LIMIT 10");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->ordered);
  EXPECT_EQ(d.read_shape->order_keys, (std::vector<size_t>{2, 0}));
  EXPECT_TRUE(d.read_shape->limited);
  EXPECT_EQ(d.read_shape->limit, 10);
  EXPECT_TRUE(d.read_shape->read_elsewhere.empty());

  d = decide("SELECT id, state FROM transfers WHERE id > ? ORDER BY 1 LIMIT ?, ?");
  ASSERT_TRUE(d.read_shape);
  EXPECT_EQ(d.read_shape->order_keys, std::vector<size_t>{0});
  EXPECT_EQ(d.read_shape->limit, -1);
  EXPECT_EQ(d.read_shape->limit_param, 3);

  d = decide("SELECT id, state FROM transfers LIMIT 5 OFFSET 20");
  ASSERT_TRUE(d.read_shape);
  EXPECT_EQ(d.read_shape->limit, 5);

  // An order by something that is not an output: the keys are unknown.
  d = decide("SELECT id, state FROM transfers ORDER BY created, id");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->ordered);
  EXPECT_TRUE(d.read_shape->order_keys.empty());
}

TEST_F(MysqlReadSwitch, ShapeOnlyForOneSwitchedSelect) {
  EXPECT_FALSE(decide("SELECT id, state FROM transfers; SELECT 1").read_shape);
  EXPECT_FALSE(decide("SELECT id FROM customers").read_shape);
  EXPECT_FALSE(decide("SELECT * FROM transfers").read_shape);  // read_unsupported
  EXPECT_FALSE(decide("SELECT id, state FROM transfers UNION SELECT id, state FROM transfers").read_shape);
  EXPECT_FALSE(decide("SELECT id, state FROM transfers WHERE id = 1 FOR UPDATE").read_shape);  // a locking read
  EXPECT_FALSE(decide("UPDATE transfers SET state = 'sent' WHERE state = 'draft'", config::Phase::Cleanup).read_shape);
  // A derived table's select list is not the statement's.
  auto d = decide("SELECT x.id FROM (SELECT id, state FROM transfers) x");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->status_outputs.empty());
  EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"transfer_state"});
  // Positions after a `*` are unknown: that output counts as read elsewhere.
  d = decide("SELECT c.*, t.state FROM customers c JOIN transfers t ON t.customer_id = c.id");
  ASSERT_TRUE(d.read_shape);
  EXPECT_TRUE(d.read_shape->status_outputs.empty());
  EXPECT_EQ(d.read_shape->read_elsewhere, std::vector<std::string>{"transfer_state"});
}
