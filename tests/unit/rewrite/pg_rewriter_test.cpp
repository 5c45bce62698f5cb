#include "rewrite/pg_rewriter.h"

#include <gtest/gtest.h>

#include <random>

#include "config/loader.h"
#include "rewrite/migration_set.h"
#include "rewrite/pg_parse.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/tenant_rewriter.h"
#include "tests/unit/rewrite/entity_column_util.h"
#include "tests/unit/support/test_config.h"

using namespace sy;
using config::Phase;
using rewrite::Decision;
using rewrite::Outcome;

namespace {

const std::string kConfig = test::dual_write_yaml(
    "[order_status, pr_status]",
    test::order_status_yaml(R"({ "Awaiting approval": PENDING_APPROVAL, "Awaiting fulfilment": APPROVED,
           "it's \\ odd": "ODD'ONE" })",
                            "    unmapped: keep\n") +
        R"(  pr_status:
    table: orders
    legacy_column: pr_status
    unified_column: unified_pr_status
    map: { draft: DRAFT }
    unmapped: reject
)");

struct Fixture : ::testing::Test {
  std::shared_ptr<const config::Config> cfg = test::load_config(kConfig);
  rewrite::MigrationSet ms{*cfg, cfg->tenants.at(0)};
  rewrite::PgRewriter rw{ms};

  Decision run(std::string_view sql, Phase phase = Phase::DualWrite, bool extended = false) {
    return rw.rewrite(sql, {.phase = phase, .extended = extended});
  }
};

bool is_subsequence(std::string_view small, std::string_view big) {
  size_t j = 0;
  for (size_t i = 0; i < big.size() && j < small.size(); ++i)
    if (big[i] == small[j]) ++j;
  return j == small.size();
}

int max_param(std::string_view sql) {
  int n = 0;
  for (const auto& t : rewrite::lex_sql(sql))
    if (t.kind == rewrite::TokenKind::Param) n = std::max(n, std::stoi(std::string(sql.substr(t.begin + 1, t.end - t.begin - 1))));
  return n;
}

}  // namespace

TEST_F(Fixture, LiteralBecomesMappedLiteral) {
  auto d = run("UPDATE orders SET status = 'Awaiting approval' WHERE id = 7");
  ASSERT_EQ(d.action, Decision::Action::Rewrite);
  EXPECT_EQ(d.sql, "UPDATE orders SET status = 'Awaiting approval', \"unified_status\" = 'PENDING_APPROVAL' WHERE id = 7");
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].entity_id, "7");
  EXPECT_EQ(d.events[0].unified, "PENDING_APPROVAL");
}

TEST_F(Fixture, MappedValuesAreQuotedSafely) {
  auto d = run("UPDATE orders SET status = E'it''s \\\\ odd' WHERE id = 1");
  ASSERT_EQ(d.action, Decision::Action::Rewrite);
  EXPECT_NE(d.sql.find("\"unified_status\" = 'ODD''ONE'"), std::string::npos) << d.sql;
  // The CASE form quotes keys and values too.
  auto p = run("UPDATE orders SET status = $1 WHERE id = 1");
  EXPECT_NE(p.sql.find("WHEN E'it''s \\\\ odd' THEN 'ODD''ONE'"), std::string::npos) << p.sql;
}

TEST_F(Fixture, ObserveChangesNothingButReports) {
  auto d = run("UPDATE orders SET status = 'Awaiting approval' WHERE id = 7", Phase::Observe);
  EXPECT_EQ(d.action, Decision::Action::Forward);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].outcome, Outcome::Observed);
  EXPECT_FALSE(d.fingerprint.empty());
}

TEST_F(Fixture, CleanupReplacesTheLegacyAssignment) {
  auto d = run("UPDATE orders SET status = 'Awaiting fulfilment' WHERE id = 7", Phase::Cleanup);
  EXPECT_EQ(d.sql, "UPDATE orders SET \"unified_status\" = 'APPROVED' WHERE id = 7");
  auto i = run("INSERT INTO orders (id, status, pr_status) VALUES (1, 'Awaiting fulfilment', 'draft')", Phase::Cleanup);
  EXPECT_EQ(i.sql, "INSERT INTO orders (id, \"unified_status\", \"unified_pr_status\") VALUES (1, 'APPROVED', 'DRAFT')");
  auto u = run("INSERT INTO orders (id, status, pr_status) VALUES (1, 'x', 'draft') ON CONFLICT (id) DO UPDATE SET "
               "status = EXCLUDED.status",
               Phase::Cleanup);
  EXPECT_NE(u.sql.find("DO UPDATE SET \"unified_status\" = EXCLUDED.\"unified_status\""), std::string::npos) << u.sql;
}

TEST_F(Fixture, OffPhaseIsUntouched) {
  auto d = run("UPDATE orders SET status = 'Awaiting approval'", Phase::Off);
  EXPECT_EQ(d.action, Decision::Action::Forward);
  EXPECT_TRUE(d.events.empty());
}

TEST_F(Fixture, UnmappedRejectRefusesTheStatement) {
  auto d = run("UPDATE orders SET pr_status = 'bogus' WHERE id = 1");
  EXPECT_TRUE(d.rejected);
  EXPECT_EQ(d.sql.rfind("DO $sy$", 0), 0u) << d.sql;
  auto x = run("UPDATE orders SET pr_status = 'bogus' WHERE id = 1", Phase::DualWrite, /*extended=*/true);
  EXPECT_TRUE(x.rejected);
  EXPECT_EQ(x.sql.rfind("SELECT CAST('switchyard: unmapped value ''bogus''", 0), 0u) << x.sql;
  // A value containing the dollar tag cannot end the DO body early.
  auto t = run("UPDATE orders SET pr_status = '$sy$; DROP TABLE orders; --' WHERE id = 1");
  ASSERT_TRUE(t.rejected);
  EXPECT_EQ(t.sql.rfind("DO $sy0$", 0), 0u) << t.sql;
  rewrite::PgParse check(t.sql);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.statements().Size(), 1u);
}

TEST_F(Fixture, ExplicitUnifiedAssignmentIsLeftAlone) {
  auto d = run("UPDATE orders SET status = 'Awaiting approval', unified_status = 'MANUAL' WHERE id = 1");
  EXPECT_EQ(d.action, Decision::Action::Forward);
}

TEST_F(Fixture, UnparseableSqlIsForwarded) {
  auto d = run("UPDATE orders SET status = 'Awaiting approval' WHERE");
  EXPECT_EQ(d.action, Decision::Action::Forward);
  EXPECT_TRUE(d.events.empty());
}

TEST_F(Fixture, PrefilterSkipsStatementsWithoutMappedNames) {
  EXPECT_FALSE(ms.may_touch("SELECT * FROM pgbench_accounts WHERE aid = $1"));
  EXPECT_FALSE(ms.may_touch("SELECT status FROM orders WHERE id = 1"));  // no write keyword
  EXPECT_FALSE(ms.may_touch("UPDATE customers SET name = 'x'"));
  EXPECT_TRUE(ms.may_touch("update ORDERS set STATUS = 'x'"));
  EXPECT_FALSE(ms.may_touch("UPDATE orders SET note = 'x'"));  // names no legacy column
}

// These write the legacy column without naming it; the pre-filter once
// skipped them, so they went through with no rewrite and no event.
TEST_F(Fixture, PositionalWritesOfAMigratedTableAreAnalysed) {
  for (const char* sql : {"INSERT INTO orders VALUES (1, 'Awaiting approval')", "COPY orders FROM STDIN"}) {
    EXPECT_TRUE(ms.may_touch(sql)) << sql;
    auto d = run(sql);
    EXPECT_EQ(d.action, Decision::Action::Forward) << sql;
    ASSERT_EQ(d.events.size(), 1u) << sql;
    EXPECT_EQ(d.events[0].outcome, rewrite::Outcome::Unsupported) << sql;
  }
}

TEST_F(Fixture, TenantRewriterCachesDecisions) {
  rewrite::TenantRewriter tr(*cfg, cfg->tenants.at(0));
  tr.decide("UPDATE orders SET status = $1 WHERE id = $2", Phase::DualWrite, true);  // cached from the second sighting
  auto a = tr.decide("UPDATE orders SET status = $1 WHERE id = $2", Phase::DualWrite, true);
  auto b = tr.decide("UPDATE orders SET status = $1 WHERE id = $2", Phase::DualWrite, true);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.get(), b.get());  // the same cached decision
  EXPECT_EQ(tr.decide("SELECT 1", Phase::DualWrite, true), nullptr);
  auto observe = tr.decide("UPDATE orders SET status = $1 WHERE id = $2", Phase::Observe, true);
  ASSERT_TRUE(observe);
  EXPECT_EQ(observe->action, Decision::Action::Forward);
}

// Property: over many generated statements, dual_write only ever inserts
// text (every original byte survives, in order), and no rewrite in any phase
// changes the number of statements or parameters.
TEST_F(Fixture, RewritesPreserveStatementsParametersAndUntouchedBytes) {
  std::mt19937 rng(7);
  const std::vector<std::string> values = {"'Awaiting approval'", "'Awaiting fulfilment'", "'unknown'", "$1",
                                           "upper($1)", "CASE WHEN id > 1 THEN 'Awaiting approval' ELSE status END",
                                           "NULL", "'draft'", "(SELECT 'x')"};
  const std::vector<std::string> gaps = {" ", "  ", "\n", " /* c, ( ' */ ", "\t", " -- note\n"};
  auto gap = [&] { return gaps[rng() % gaps.size()]; };
  auto value = [&] { return values[rng() % values.size()]; };
  int rewritten = 0;
  for (int iter = 0; iter < 600; ++iter) {
    std::string sql;
    switch (rng() % 4) {
      case 0:
        sql = "UPDATE" + gap() + "orders" + gap() + "SET" + gap() + "status" + gap() + "=" + gap() + value() + "," + gap() +
              "note = 'n'" + gap() + "WHERE id = $2";
        break;
      case 1:
        sql = "INSERT INTO orders (id," + gap() + "status) VALUES ($2, " + value() + ")," + gap() + "(3," + gap() +
              value() + ")";
        break;
      case 2:
        sql = "WITH x AS (UPDATE orders SET pr_status = 'draft'" + gap() + "RETURNING id) SELECT * FROM x;" + gap() +
              "UPDATE orders SET status = " + value() + " WHERE id = $2";
        break;
      default:
        sql = "INSERT INTO orders AS o (id, status) VALUES ($2, " + value() + ") ON CONFLICT (id) DO UPDATE SET status =" +
              gap() + "EXCLUDED.status" + gap() + "RETURNING o.id";
    }
    rewrite::PgParse original(sql);
    if (!original.ok()) continue;
    for (Phase phase : {Phase::DualWrite, Phase::Cleanup}) {
      auto d = run(sql, phase);
      if (d.action != Decision::Action::Rewrite || d.rejected) continue;
      ++rewritten;
      rewrite::PgParse again(d.sql);
      ASSERT_TRUE(again.ok()) << d.sql;
      EXPECT_EQ(again.statements().Size(), original.statements().Size()) << d.sql;
      EXPECT_EQ(max_param(d.sql), max_param(sql)) << d.sql;
      if (phase == Phase::DualWrite) {
        EXPECT_TRUE(is_subsequence(sql, d.sql)) << sql << "\n=> " << d.sql;
      }
    }
  }
  EXPECT_GT(rewritten, 300);
}

// Arbitrary bytes never crash the engine and are forwarded untouched.
TEST_F(Fixture, GarbageIsForwarded) {
  std::mt19937 rng(11);
  const std::string alphabet = "UPDATEorders SET status='\"$1();,/*-\n\\";
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    size_t n = rng() % 80;
    for (size_t k = 0; k < n; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    auto d = run(s);
    if (d.action == Decision::Action::Rewrite) {
      rewrite::PgParse check(d.sql);
      EXPECT_TRUE(check.ok()) << s;
    }
  }
}

// entity_column names the key the events report; `id` is then just a column.
TEST(PgRewriterEntityColumn, ReportsTheConfiguredColumn) {
  auto yaml = test::with_entity_column(kConfig, "unified_column: unified_status\n", "order_ref");
  auto entity = [&](const std::string& sql) { return test::entity_of<rewrite::PgRewriter>(yaml, sql); };
  EXPECT_EQ(entity("UPDATE orders SET status = 'Awaiting approval' WHERE order_ref = 'C-17'"), "C-17");
  EXPECT_EQ(entity("UPDATE orders o SET status = $1 WHERE 42 = o.order_ref"), "42");
  EXPECT_EQ(entity("UPDATE orders SET status = 'Awaiting approval' WHERE \"order_ref\" = 9"), "9");
  EXPECT_EQ(entity("UPDATE orders SET status = 'Awaiting approval' WHERE id = 7"), "");  // id is not the entity here
  EXPECT_EQ(entity("UPDATE orders SET status = 'Awaiting approval' WHERE \"Order_Ref\" = 9"), "");  // another column
}
