// Writes of a legacy column the rewrite cannot get right by itself: an INSERT
// that leaves the legacy column to its default, SQL hidden in a DO block, a
// PREPARE / EXECUTE IMMEDIATE string or an executable comment. Each must be
// reported (REWRITE_UNSUPPORTED, refused under on_unsupported: reject), never
// forwarded silently. Also the MySQL spellings of a plain assignment that
// once slipped past the recogniser: `:=` and hexadecimal literals.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "rewrite/migration_set.h"
#include "rewrite/mysql_rewriter.h"
#include "rewrite/pg_rewriter.h"
#include "rewrite/tenant_rewriter.h"
#include "tests/unit/support/test_config.h"

using namespace sy;
using config::OnUnsupported;
using config::Phase;
using rewrite::Decision;
using rewrite::Outcome;

namespace {

bool reported(const Decision& d, std::string_view reason_prefix = "") {
  return d.action == Decision::Action::Forward && d.events.size() == 1 &&
         d.events[0].outcome == Outcome::Unsupported && d.events[0].reason.rfind(reason_prefix, 0) == 0;
}

struct Pg : ::testing::Test {
  std::shared_ptr<const config::Config> cfg =
      test::load_config(test::dual_write_yaml("[order_status]", test::order_status_yaml("{ sent: SENT }")));
  rewrite::MigrationSet ms{*cfg, cfg->tenants.at(0)};
  rewrite::PgRewriter rw{ms};

  Decision run(std::string_view sql, Phase phase = Phase::DualWrite, OnUnsupported on = OnUnsupported::Forward) {
    return rw.rewrite(sql, {.phase = phase, .on_unsupported = on});
  }
};

struct My : ::testing::Test {
  std::shared_ptr<const config::Config> cfg = test::load_config(R"(listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:3307
    targets: { legacy: { address: 127.0.0.1:3306 } }
tenants:
  - name: t
    match: { listener: my, database: app }
    phase: dual_write
    migrations: [transfer_state]
migrations:
  transfer_state:
    table: transfers
    legacy_column: state
    unified_column: unified_state
    map: { sent: SENT, draft: OPEN }
)");
  rewrite::MigrationSet ms{*cfg, cfg->tenants.at(0)};
  rewrite::MysqlRewriter rw{ms};

  Decision run(std::string_view sql, Phase phase = Phase::DualWrite, OnUnsupported on = OnUnsupported::Forward) {
    return rw.rewrite(sql, {.phase = phase, .on_unsupported = on});
  }
  std::string rewritten(std::string_view sql) {
    auto d = run(sql);
    return d.action == Decision::Action::Rewrite ? d.sql : "unchanged";
  }
};

}  // namespace

// ---- INSERT that leaves the legacy column to its default ---------------------

TEST_F(Pg, InsertLeavingTheLegacyColumnToItsDefaultIsReported) {
  for (const char* sql : {"INSERT INTO orders (id, note) VALUES (1, 'x')",
                          "INSERT INTO orders (id, status) VALUES (1, DEFAULT)",
                          "INSERT INTO orders (id, status) VALUES (1, 'sent'), (2, DEFAULT)",
                          "INSERT INTO orders DEFAULT VALUES",
                          "INSERT INTO orders (id) SELECT id FROM staging",
                          "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET note = 'y'"}) {
    EXPECT_TRUE(ms.may_touch(sql)) << sql;
    for (Phase phase : {Phase::Observe, Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup})
      EXPECT_TRUE(reported(run(sql, phase), "legacy_default")) << sql << " in phase " << static_cast<int>(phase);
    auto refused = run(sql, Phase::DualWrite, OnUnsupported::Reject);
    EXPECT_TRUE(refused.rejected) << sql;
    EXPECT_FALSE(run(sql, Phase::Observe, OnUnsupported::Reject).rejected) << sql;  // observe never refuses
  }
}

TEST_F(Pg, InsertThatSetsTheUnifiedColumnItselfIsLeftAlone) {
  for (const char* sql : {"INSERT INTO orders (id, unified_status) VALUES (1, 'SENT')",
                          "INSERT INTO orders (id, status, unified_status) VALUES (1, DEFAULT, 'SENT')"}) {
    auto d = run(sql);
    EXPECT_EQ(d.action, Decision::Action::Forward) << sql;
    EXPECT_TRUE(d.events.empty()) << sql;
  }
  EXPECT_TRUE(run("INSERT INTO customers (id) VALUES (1)").events.empty());  // not a migrated table
}

TEST_F(My, InsertLeavingTheLegacyColumnToItsDefaultIsReported) {
  for (const char* sql : {"INSERT INTO transfers (id, note) VALUES (1, 'x')", "INSERT INTO transfers () VALUES ()",
                          "INSERT INTO transfers (id, state) VALUES (1, DEFAULT)",
                          "INSERT INTO transfers (id, state) VALUES (1, 'sent'), (2, DEFAULT)",
                          "REPLACE INTO transfers (id) VALUES (1)", "INSERT INTO transfers SET id = 1, note = 'x'",
                          "INSERT INTO transfers (id) SELECT id FROM staging"}) {
    for (Phase phase : {Phase::Observe, Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup})
      EXPECT_TRUE(reported(run(sql, phase), "legacy_default")) << sql << " in phase " << static_cast<int>(phase);
    EXPECT_TRUE(run(sql, Phase::DualWrite, OnUnsupported::Reject).rejected) << sql;
  }
  for (const char* sql : {"INSERT INTO transfers (id, unified_state) VALUES (1, 'SENT')",
                          "INSERT INTO transfers SET id = 1, unified_state = 'SENT'"})
    EXPECT_TRUE(run(sql).events.empty()) << sql;
}

// ---- PostgreSQL DO blocks ----------------------------------------------------------

TEST_F(Pg, DoBlocksThatMayWriteALegacyColumnAreReported) {
  rewrite::TenantRewriter tenant(*cfg, cfg->tenants.at(0));
  for (const char* sql : {"DO $$BEGIN UPDATE orders SET status = 'sent' WHERE id = 1; END$$",
                          "DO LANGUAGE plpgsql $body$ BEGIN INSERT INTO orders VALUES (1, 'sent'); END $body$",
                          "DO 'BEGIN UPDATE public.orders SET status = ''sent''; END'",
                          "DO $$BEGIN EXECUTE format('UPDATE orders SET status = %L', 'sent'); END$$"}) {
    EXPECT_TRUE(reported(run(sql), "a DO block")) << sql;
    EXPECT_TRUE(run(sql, Phase::DualWrite, OnUnsupported::Reject).rejected) << sql;
    // The pre-filter lets it through to the decision (it once claimed to).
    auto decided = tenant.decide(sql, Phase::DualWrite, false);
    ASSERT_TRUE(decided) << sql;
    EXPECT_TRUE(reported(*decided)) << sql;
  }
  for (const char* sql : {"DO $$BEGIN UPDATE customers SET status = 'x'; END$$",        // another table
                          "DO $$BEGIN RAISE NOTICE '%', (SELECT count(*) FROM orders); END$$",  // no write
                          "DO $$BEGIN UPDATE orders_archive SET status = 'x'; END$$"})  // not the word
    EXPECT_TRUE(run(sql).events.empty()) << sql;
}

// ---- MySQL dynamic SQL -------------------------------------------------------------

TEST_F(My, DynamicSqlTextsThatMayWriteALegacyColumnAreReported) {
  for (const char* sql : {"PREPARE s FROM 'UPDATE transfers SET state = ''sent'' WHERE id = ?'",
                          "PREPARE s FROM \"INSERT INTO transfers (id, state) VALUES (?, ?)\"",
                          "EXECUTE IMMEDIATE 'UPDATE transfers SET state = \\'sent\\' WHERE id = 1'",
                          "EXECUTE IMMEDIATE CONCAT('UPDATE transfers SET state = ', QUOTE(@s))",
                          "SET @q = 'UPDATE transfers SET state = ? WHERE id = ?'",
                          "SET @q := 'INSERT INTO transfers (id) VALUES (9)'"}) {
    for (Phase phase : {Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup})
      EXPECT_TRUE(reported(run(sql, phase), "dynamic SQL")) << sql << " in phase " << static_cast<int>(phase);
    EXPECT_TRUE(run(sql, Phase::DualWrite, OnUnsupported::Reject).rejected) << sql;
  }
  // Unrelated tables, and PREPARE of a variable (checked where it was SET).
  for (const char* sql : {"PREPARE s FROM 'UPDATE customers SET state = ?'", "PREPARE s FROM @q",
                          "EXECUTE s USING @a, @b", "SET @q = 'SELECT state FROM transfers'", "SET @x = 'transfers'"})
    EXPECT_TRUE(run(sql).events.empty()) << sql;
}

// ---- MySQL executable comments -------------------------------------------------

TEST_F(My, ExecutableCommentsThatMayWriteALegacyColumnAreReported) {
  for (const char* sql : {"/*!40000 UPDATE transfers SET state = 'sent' WHERE id = 1 */",
                          "/*M!100100 UPDATE transfers SET state = 'sent' WHERE id = 1 */",
                          "UPDATE transfers SET note = 'x' /*!, state = 'sent' */ WHERE id = 1",
                          "UPDATE transfers SET note = 'x' /*M!, state = 'sent' */ WHERE id = 1",
                          "UPDATE transfers SET state = 'sent' /*!99999 , note = 'x' */ WHERE id = 1"}) {
    for (Phase phase : {Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup})
      EXPECT_TRUE(reported(run(sql, phase))) << sql << " in phase " << static_cast<int>(phase);
    EXPECT_TRUE(run(sql, Phase::DualWrite, OnUnsupported::Reject).rejected) << sql;
  }
  EXPECT_EQ(rewritten("UPDATE /*!40000 LOW_PRIORITY */ customers SET state = 'x'"), "unchanged");
  EXPECT_TRUE(run("UPDATE /*!40000 LOW_PRIORITY */ customers SET state = 'x'").events.empty());
}

// ---- MySQL spellings of a plain assignment -------------------------------------

TEST_F(My, ColonEqualsAssignsLikeEquals) {
  EXPECT_EQ(rewritten("UPDATE transfers SET state := 'sent' WHERE id = 1"),
            "UPDATE transfers SET state := 'sent', `unified_state` = 'SENT' WHERE id = 1");
  EXPECT_EQ(rewritten("UPDATE transfers SET note := 'x', state := ? WHERE id = 1"),
            "UPDATE transfers SET note := 'x', state := ?, `unified_state` = CASE `state` WHEN 'sent' THEN 'SENT' "
            "WHEN 'draft' THEN 'OPEN' ELSE `unified_state` END WHERE id = 1");
}

TEST_F(My, HexLiteralsMapTheirBytes) {
  EXPECT_EQ(rewritten("UPDATE transfers SET state = X'73656e74' WHERE id = 1"),
            "UPDATE transfers SET state = X'73656e74', `unified_state` = 'SENT' WHERE id = 1");
  EXPECT_EQ(rewritten("UPDATE transfers SET state = 0x73656e74 WHERE id = 1"),
            "UPDATE transfers SET state = 0x73656e74, `unified_state` = 'SENT' WHERE id = 1");
  EXPECT_EQ(rewritten("INSERT INTO transfers (id, state) VALUES (1, x'6472616674'), (2, 0x73656e74)"),
            "INSERT INTO transfers (id, state, `unified_state`) VALUES (1, x'6472616674', 'OPEN'), (2, 0x73656e74, "
            "'SENT')");
  // A bit literal is mapped by the server, through the CASE over the column.
  auto bits = rewritten("UPDATE transfers SET state = b'01110011011001010110111001110100' WHERE id = 1");
  EXPECT_NE(bits.find("`unified_state` = CASE `state`"), std::string::npos) << bits;
}
