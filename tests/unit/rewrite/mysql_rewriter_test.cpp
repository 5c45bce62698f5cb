#include "rewrite/mysql_rewriter.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <random>
#include <sstream>

#include "config/loader.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/sql_text.h"
#include "tests/unit/rewrite/entity_column_util.h"

using namespace sy;
using rewrite::Decision;

namespace {
std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int params(std::string_view sql) {
  int n = 0;
  for (const auto& t : rewrite::lex_sql(sql, rewrite::Dialect::Mysql)) n += t.kind == rewrite::TokenKind::Param;
  return n;
}
}  // namespace

TEST(MysqlCorpus, EveryStatementRewritesToItsRecordedText) {
  auto loaded = config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).str();
  const auto& tenant = loaded.config->tenants.at(0);
  rewrite::MigrationSet ms(*loaded.config, tenant);
  rewrite::MysqlRewriter rw(ms);
  rapidjson::Document corpus;
  corpus.Parse(read(SY_CORPUS_DIR "/mysql_rewrites.json").c_str());
  ASSERT_TRUE(corpus.IsArray());
  ASSERT_GE(corpus.Size(), 100u);
  for (const auto& e : corpus.GetArray()) {
    std::string sql = e["sql"].GetString();
    auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite, .on_unsupported = tenant.on_unsupported});
    std::string got = d.action == Decision::Action::Rewrite ? d.sql : sql;
    EXPECT_EQ(got, e["expected"].GetString()) << e["note"].GetString();
    EXPECT_TRUE(d.rejected || params(got) == params(sql)) << sql;
    EXPECT_TRUE(got == sql || ms.may_touch(sql)) << sql;
  }
}

TEST(MysqlLexer, DialectRules) {
  std::string sql = "SELECT `a``b`, \"dq\", 'it\\'s', ? # c\n-- c\n1--1 /* x */ /*!50000 y */";
  std::vector<std::string> texts;
  for (const auto& t : rewrite::lex_sql(sql, rewrite::Dialect::Mysql)) texts.emplace_back(sql.substr(t.begin, t.end - t.begin));
  EXPECT_EQ(texts, (std::vector<std::string>{"SELECT", "`a``b`", ",", "\"dq\"", ",", "'it\\'s'", ",", "?", "1", "--",
                                             "1", "/*!50000 y */"}));
}

TEST(MysqlText, LiteralsAreSafeInEverySqlMode) {
  EXPECT_EQ(rewrite::quote_mysql_literal("SENT"), "'SENT'");
  EXPECT_EQ(rewrite::quote_mysql_literal("it's"), "_utf8mb4 X'69742773'");
  EXPECT_EQ(rewrite::quote_mysql_literal("a\\b"), "_utf8mb4 X'615C62'");
  EXPECT_EQ(rewrite::quote_mysql_ident("we`ird"), "`we``ird`");
  EXPECT_EQ(rewrite::unquote_mysql_string("'it\\'s \\\\ ok'"), "it's \\ ok");
  EXPECT_EQ(rewrite::unquote_mysql_string("\"say \"\"hi\"\"\""), "say \"hi\"");
  EXPECT_EQ(rewrite::unquote_mysql_string("_utf8mb4'x'"), "x");
}

// Property: dual_write only inserts bytes, and never changes the number of
// statements or ? placeholders, whatever the spacing and comments.
TEST(MysqlRewriter, RewritesPreserveStatementsAndPlaceholders) {
  auto cfg = config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml").config;
  rewrite::MigrationSet ms(*cfg, cfg->tenants.at(0));
  rewrite::MysqlRewriter rw(ms);
  std::mt19937 rng(5);
  const std::vector<std::string> values = {"'sent'", "?", "\"received\"", "IF(id > 1, 'sent', 'draft')", "NULL",
                                           "'lost'", "LOWER(?)"};
  const std::vector<std::string> gaps = {" ", "\n", " /* c, ( ' */ ", " # h\n", " -- d\n", "\t"};
  auto gap = [&] { return gaps[rng() % gaps.size()]; };
  auto value = [&] { return values[rng() % values.size()]; };
  int rewritten = 0;
  for (int i = 0; i < 500; ++i) {
    std::string sql;
    switch (rng() % 3) {
      case 0:
        sql = "UPDATE" + gap() + "transfers" + gap() + "SET" + gap() + "state" + gap() + "=" + gap() + value() +
              ", note = ?" + gap() + "WHERE id = ?";
        break;
      case 1:
        sql = "INSERT INTO transfers (id," + gap() + "state) VALUES (?, " + value() + ")," + gap() + "(2, " + value() +
              ") ON DUPLICATE KEY UPDATE state = VALUES(state)";
        break;
      default:
        sql = "INSERT INTO transfers SET id = ?," + gap() + "state = " + value() + "; UPDATE transfers SET state = " +
              value() + " LIMIT 1";
    }
    auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite});
    if (d.action != Decision::Action::Rewrite) continue;
    ++rewritten;
    EXPECT_EQ(params(d.sql), params(sql)) << d.sql;
    size_t j = 0;
    for (char c : d.sql)
      if (j < sql.size() && c == sql[j]) ++j;
    EXPECT_EQ(j, sql.size()) << "not a pure insertion:\n" << sql << "\n" << d.sql;
  }
  EXPECT_GT(rewritten, 400);
}

// In MySQL a migration's schema is a database, and an unqualified table is in
// the session's: these writes were once forwarded with no rewrite and no event.
TEST(MysqlRewriter, DatabaseQualifiedMigrationsAndWithBeforeUpdate) {
  auto loaded = config::load_string(R"(listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:3307
    targets: { legacy: { address: 127.0.0.1:3306 } }
tenants:
  - name: t
    match: { listener: my, database: app }
    phase: dual_write
    migrations: [transfer_state, order_status]
migrations:
  transfer_state:
    table: app.transfers
    legacy_column: state
    unified_column: unified_state
    map: { sent: SENT }
  order_status:
    table: billing.orders
    legacy_column: status
    unified_column: unified_status
    map: { paid: PAID }
)");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).str();
  rewrite::MigrationSet ms(*loaded.config, loaded.config->tenants.at(0));
  rewrite::MysqlRewriter rw(ms);
  auto rewritten = [&](const std::string& sql) {
    auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite});
    return d.action == Decision::Action::Rewrite ? d.sql : std::string("unchanged");
  };
  EXPECT_EQ(rewritten("UPDATE transfers SET state = 'sent' WHERE id = 1"),
            "UPDATE transfers SET state = 'sent', `unified_state` = 'SENT' WHERE id = 1");
  EXPECT_EQ(rewritten("UPDATE app.transfers SET state = 'sent'"),
            "UPDATE app.transfers SET state = 'sent', `unified_state` = 'SENT'");
  EXPECT_EQ(rewritten("UPDATE billing.orders SET status = 'paid'"),
            "UPDATE billing.orders SET status = 'paid', `unified_status` = 'PAID'");
  EXPECT_EQ(rewritten("UPDATE orders SET status = 'paid'"), "unchanged");  // app.orders is not migrated
  EXPECT_EQ(rewritten("WITH ids (id) AS (SELECT 1) UPDATE transfers SET state = 'sent' WHERE id IN (SELECT id FROM ids)"),
            "WITH ids (id) AS (SELECT 1) UPDATE transfers SET state = 'sent', `unified_state` = 'SENT' WHERE id IN "
            "(SELECT id FROM ids)");
}

TEST(MysqlRewriter, RefusalReplacesTheWholeStatementWithItsCtes) {
  auto cfg = config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml").config;
  rewrite::MigrationSet ms(*cfg, cfg->tenants.at(0));
  rewrite::MysqlRewriter rw(ms);
  auto d = rw.rewrite("WITH x AS (SELECT 1) UPDATE transfers SET state = DEFAULT",
                      {.phase = config::Phase::DualWrite, .on_unsupported = config::OnUnsupported::Reject});
  ASSERT_TRUE(d.rejected);
  EXPECT_EQ(d.sql.rfind("SIGNAL SQLSTATE '45000'", 0), 0u) << d.sql;
}

TEST(MysqlRewriter, LoadDataWritesTheLegacyColumnUnlessItsColumnListLeavesItOut) {
  auto cfg = config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml").config;
  rewrite::MigrationSet ms(*cfg, cfg->tenants.at(0));
  rewrite::MysqlRewriter rw(ms);
  auto unsupported = [&](const std::string& sql) {
    auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite});
    return !d.events.empty() && d.events[0].outcome == rewrite::Outcome::Unsupported;
  };
  EXPECT_TRUE(unsupported("LOAD DATA LOCAL INFILE 'f' INTO TABLE transfers"));
  EXPECT_TRUE(unsupported("LOAD DATA INFILE 'f' INTO TABLE transfers CHARACTER SET utf8mb4 FIELDS TERMINATED BY ','"));
  EXPECT_TRUE(unsupported("LOAD DATA INFILE 'f' INTO TABLE transfers PARTITION (p0) IGNORE 1 LINES"));
  EXPECT_TRUE(unsupported("LOAD DATA INFILE 'f' INTO TABLE transfers (id, state)"));
  EXPECT_TRUE(unsupported("LOAD DATA INFILE 'f' INTO TABLE transfers (id, @s) SET state = @s"));
  EXPECT_FALSE(unsupported("LOAD DATA INFILE 'f' INTO TABLE transfers (id, note)"));
  EXPECT_FALSE(unsupported("LOAD DATA INFILE 'f' INTO TABLE other_table"));
}

TEST(MigrationSet, MentionsAreWholeWords) {
  auto cfg = config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml").config;
  rewrite::MigrationSet ms(*cfg, cfg->tenants.at(0));
  EXPECT_EQ(ms.mentioned_in("INSERT INTO transfers_archive VALUES (1)").size(), 0u);
  EXPECT_EQ(ms.mentioned_in("INSERT INTO `Transfers` VALUES (1)").size(), 1u);
  EXPECT_EQ(ms.mentioned_in("insert into app.transfers(id) values (1)").size(), 1u);
}

// Found by tests/fuzz/fuzz_rewrite (ASan): a select list ending at AS read a
// token past the end of the statement.
TEST(MysqlRewriter, InsertSelectEndingAtAsIsNotReadPastItsEnd) {
  auto cfg = config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml").config;
  rewrite::MigrationSet ms(*cfg, cfg->tenants.at(0));
  rewrite::MysqlRewriter rw(ms);
  for (const char* sql : {"INSERT INTO transfers (id, state) SELECT 0, 'sent' AS", "INSERT INTO transfers (id, state) SELECT 0, 'sent' AS s"}) {
    auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite});
    EXPECT_FALSE(d.events.empty()) << sql;
  }
}

// entity_column names the key the events report; MySQL column names are
// case-insensitive, so the match is too.
TEST(MysqlRewriter, EntityIdComesFromTheConfiguredColumn) {
  auto yaml = test::with_entity_column(read(SY_CORPUS_DIR "/mysql_corpus.yaml"), "unified_column: unified_state\n",
                                       "transfer_no");
  auto entity = [&](const std::string& sql) { return test::entity_of<rewrite::MysqlRewriter>(yaml, sql); };
  EXPECT_EQ(entity("UPDATE transfers SET state = 'sent' WHERE transfer_no = 'T-9'"), "T-9");
  EXPECT_EQ(entity("UPDATE transfers SET state = ? WHERE `Transfer_No` = 12"), "12");
  EXPECT_EQ(entity("UPDATE transfers SET state = 'sent' WHERE id = 7"), "");  // id is not the entity here
}
