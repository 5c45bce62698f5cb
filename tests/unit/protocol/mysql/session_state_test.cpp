#include "protocol/mysql/session_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/common/sql_scan.h"

using namespace sy::mysql;
using sy::proto::Hazard;

namespace {

constexpr uint16_t kAutocommit = 0x0002;
constexpr uint16_t kInTrans = 0x0001;

// A COM_QUERY answered in full: every statement succeeds, or statement
// `fail_at` fails and the server runs no more of them.
void query(SessionState& s, std::string_view sql, int fail_at = -1, std::optional<uint16_t> status = std::nullopt) {
  s.client_query(sql);
  auto n = std::max<size_t>(1, sy::proto::split_statements(sql, sy::proto::Dialect::Mysql).size());
  for (size_t i = 0; i < n; ++i) {
    bool ok = int(i) != fail_at;
    s.completed(ok, status);
    if (!ok) break;
  }
}

std::vector<std::string> statements(const SessionState& s) {
  auto r = s.replay();
  EXPECT_TRUE(r.ok()) << r.blocked.reason;
  return r.statements;
}

using Stmts = std::vector<std::string>;

}  // namespace

TEST(MysqlSessionState, UseAndInitDb) {
  SessionState s;
  s.initial_database("app");
  EXPECT_EQ(statements(s), (Stmts{"USE `app`"}));
  query(s, "USE `other db`");
  EXPECT_EQ(s.database(), "other db");
  s.client_init_db("third");
  s.completed(true);
  EXPECT_EQ(s.database(), "third");
  s.client_init_db("missing");
  s.completed(false);
  EXPECT_EQ(s.database(), "third");
  query(s, "USE nowhere", 0);
  EXPECT_EQ(statements(s), (Stmts{"USE `third`"}));
}

TEST(MysqlSessionState, SessionVariablesInEveryForm) {
  SessionState s;
  query(s, "SET sql_mode = 'STRICT_ALL_TABLES', SESSION wait_timeout=60, @@session.max_execution_time = 100,"
           " @@LOCAL.Net_Read_Timeout = 5, LOCAL innodb_lock_wait_timeout = 7");
  EXPECT_EQ(s.variable("sql_mode"), "'STRICT_ALL_TABLES'");
  EXPECT_EQ(s.variable("wait_timeout"), "60");
  EXPECT_EQ(s.variable("max_execution_time"), "100");
  EXPECT_EQ(s.variable("net_read_timeout"), "5");
  EXPECT_EQ(s.variable("innodb_lock_wait_timeout"), "7");
  EXPECT_EQ(statements(s), (Stmts{"SET SESSION `sql_mode` = 'STRICT_ALL_TABLES'", "SET SESSION `wait_timeout` = 60",
                                  "SET SESSION `max_execution_time` = 100", "SET SESSION `net_read_timeout` = 5",
                                  "SET SESSION `innodb_lock_wait_timeout` = 7"}));
}

TEST(MysqlSessionState, GlobalSetsAreNotSessionState) {
  SessionState s;
  query(s, "SET GLOBAL max_connections = 10, @@global.wait_timeout = 1, PERSIST x = 1");
  EXPECT_TRUE(statements(s).empty());
}

TEST(MysqlSessionState, SetDefaultForgetsTheVariable) {
  SessionState s;
  query(s, "SET wait_timeout = 60");
  query(s, "SET wait_timeout = DEFAULT");
  EXPECT_EQ(s.variable("wait_timeout"), std::nullopt);
}

TEST(MysqlSessionState, FailedSetIsNotRecorded) {
  SessionState s;
  query(s, "SET no_such_var = 1", 0);
  EXPECT_TRUE(statements(s).empty());
}

TEST(MysqlSessionState, UserVariables) {
  SessionState s;
  query(s, "SET @Tenant = 'acme', @n := -3, @q = 'it''s \\\\ here'");
  EXPECT_EQ(s.user_variable("tenant"), "'acme'");
  EXPECT_EQ(s.user_variable("n"), "-3");
  // A backslash or quote is emitted as hex so no sql_mode can change its meaning.
  EXPECT_EQ(s.user_variable("q"), "_utf8mb4 X'69742773205C2068657265'");
  EXPECT_EQ(statements(s)[0], "SET @`tenant` = 'acme'");
}

TEST(MysqlSessionState, NoBackslashEscapesFromTheStatusFlags) {
  SessionState s;
  query(s, "SET @a = 1", -1, kAutocommit | 0x0200);
  query(s, "SET @p = 'C:\\dir'");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(MysqlSessionState, ExpressionsAreUncertain) {
  for (const char* sql : {"SET @x = (SELECT max(id) FROM t)", "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
                          "SELECT @row := id FROM t", "SELECT id INTO @id FROM t LIMIT 1"}) {
    SessionState s;
    query(s, sql);
    EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain) << sql;
  }
}

TEST(MysqlSessionState, NamesAndCharacterSet) {
  SessionState s;
  query(s, "SET character_set_client = latin1");
  query(s, "SET NAMES 'utf8mb4' COLLATE utf8mb4_bin");
  query(s, "SET CHARACTER SET utf8mb4");
  EXPECT_EQ(statements(s), (Stmts{"SET SESSION `character_set_client` = latin1",
                                  "SET NAMES utf8mb4 COLLATE utf8mb4_bin", "SET CHARACTER SET utf8mb4"}));
  query(s, "SET NAMES latin1");  // moves after the others
  EXPECT_EQ(statements(s).back(), "SET NAMES latin1");
  query(s, "SET NAMES 'bad name'");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(MysqlSessionState, SessionTransactionCharacteristics) {
  SessionState s;
  query(s, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY");
  EXPECT_EQ(statements(s), (Stmts{"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY"}));
  SessionState t;
  query(t, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");  // the next transaction only
  EXPECT_TRUE(statements(t).empty());
}

TEST(MysqlSessionState, SetIsNotUndoneByRollback) {
  SessionState s;
  query(s, "BEGIN", -1, kAutocommit | kInTrans);
  query(s, "SET @a = 1", -1, kAutocommit | kInTrans);
  EXPECT_TRUE(s.in_transaction());
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Transaction);
  query(s, "ROLLBACK", -1, kAutocommit);
  EXPECT_EQ(s.user_variable("a"), "1");
  EXPECT_TRUE(s.replay().ok());
}

TEST(MysqlSessionState, TransactionsWithoutStatusFlags) {
  SessionState s;
  query(s, "START TRANSACTION READ ONLY");
  EXPECT_TRUE(s.in_transaction());
  query(s, "COMMIT");
  EXPECT_FALSE(s.in_transaction());
  query(s, "BEGIN; SELECT 1; ROLLBACK AND CHAIN");
  EXPECT_TRUE(s.in_transaction());
  query(s, "ROLLBACK TO SAVEPOINT a");
  EXPECT_TRUE(s.in_transaction());
  query(s, "ROLLBACK WORK");
  EXPECT_FALSE(s.in_transaction());
}

TEST(MysqlSessionState, Autocommit) {
  SessionState s;
  query(s, "SET autocommit=0");
  EXPECT_FALSE(s.autocommit());
  EXPECT_EQ(statements(s), (Stmts{"SET SESSION `autocommit` = 0"}));
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::Transaction);
  query(s, "SELECT 1", -1, kInTrans);  // the server opened a transaction
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Transaction);
  query(s, "SET @@autocommit = ON", -1, kAutocommit);
  EXPECT_TRUE(s.autocommit());
  EXPECT_TRUE(s.safe_elsewhere("SELECT 1").safe());
}

TEST(MysqlSessionState, StatusFlagsWin) {
  SessionState s;
  query(s, "CREATE TABLE t (a int)", -1, kAutocommit);  // an implicit commit the text does not show
  query(s, "SELECT 1", -1, kAutocommit | kInTrans);
  EXPECT_TRUE(s.in_transaction());
  query(s, "ALTER TABLE t ADD b int", -1, kAutocommit);
  EXPECT_FALSE(s.in_transaction());
}

TEST(MysqlSessionState, PrepareIdsTextsAndParameterCounts) {
  SessionState s;
  s.client_stmt_prepare("SELECT * FROM t WHERE a = ? AND b = ?");
  s.client_stmt_prepare("SELEC oops");
  s.client_stmt_prepare("INSERT INTO t VALUES (?)");
  s.prepare_ok(1, 2);
  s.completed(false);
  s.prepare_ok(3, 1);
  auto r = s.replay();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.prepared, (std::vector<PreparedStatement>{{1, "SELECT * FROM t WHERE a = ? AND b = ?", 2},
                                                        {3, "INSERT INTO t VALUES (?)", 1}}));
  s.client_stmt_close(1);
  s.client_stmt_reset(3);
  s.completed(true);
  EXPECT_EQ(s.prepared(1), std::nullopt);
  EXPECT_EQ(s.prepared(3)->num_params, 1);
}

TEST(MysqlSessionState, ExecuteOfAPreparedSetApplies) {
  SessionState s;
  s.client_stmt_prepare("SET @x = 5");
  s.prepare_ok(7, 0);
  s.client_stmt_execute(7);
  s.completed(true);
  EXPECT_EQ(s.user_variable("x"), "5");
}

TEST(MysqlSessionState, SqlPrepare) {
  SessionState s;
  query(s, "PREPARE Stmt1 FROM 'SELECT ? + 1'");
  EXPECT_EQ(statements(s), (Stmts{"PREPARE `stmt1` FROM 'SELECT ? + 1'"}));
  EXPECT_TRUE(s.safe_elsewhere("EXECUTE stmt1 USING @a").safe());
  query(s, "PREPARE s2 FROM 'SET @y = 2'");
  EXPECT_EQ(s.safe_elsewhere("EXECUTE s2").hazard, Hazard::SessionStatement);
  query(s, "EXECUTE s2");
  EXPECT_EQ(s.user_variable("y"), "2");
  query(s, "DEALLOCATE PREPARE stmt1; DROP PREPARE s2");
  EXPECT_EQ(statements(s), (Stmts{"SET @`y` = 2"}));
  query(s, "PREPARE s3 FROM @sql");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(MysqlSessionState, ResetConnectionClearsEverythingButTheDatabase) {
  SessionState s;
  s.initial_database("app");
  query(s, "SET @a = 1, sql_mode = ''; CREATE TEMPORARY TABLE t (a int); SELECT GET_LOCK('job', 10)");
  query(s, "SET @x = NOW()");
  s.client_stmt_prepare("SELECT 1");
  s.prepare_ok(1, 0);
  query(s, "LOCK TABLES t READ");
  EXPECT_FALSE(s.replay().ok());
  s.client_reset_connection();
  s.completed(true, kAutocommit);
  EXPECT_EQ(statements(s), (Stmts{"USE `app`"}));
  EXPECT_TRUE(s.replay().prepared.empty());
}

TEST(MysqlSessionState, ChangeUserClearsEverythingAndSetsTheDatabase) {
  SessionState s;
  s.initial_database("app");
  query(s, "SET @a = 1; SET ROLE admin");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::NotReplayable);
  s.client_change_user("other");
  s.completed(true);
  EXPECT_EQ(statements(s), (Stmts{"USE `other`"}));
  s.client_change_user("");
  s.completed(true);
  EXPECT_TRUE(statements(s).empty());
}

TEST(MysqlSessionState, TemporaryTables) {
  SessionState s;
  query(s, "CREATE TEMPORARY TABLE IF NOT EXISTS tmp_a (id int)");
  query(s, "CREATE TEMPORARY TABLE `tmp b` (id int)");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::TempTables);
  query(s, "DROP TEMPORARY TABLE IF EXISTS tmp_a, nothing");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::TempTables);
  query(s, "DROP TABLE `tmp b`");
  EXPECT_TRUE(s.replay().ok());
  query(s, "CREATE TEMPORARY TABLE x (id int)", 0);  // failed
  EXPECT_TRUE(s.replay().ok());
}

TEST(MysqlSessionState, NamedLocks) {
  SessionState s;
  query(s, "SELECT GET_LOCK('a', 5), GET_LOCK(\"b\", 5)");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::Locks);
  query(s, "SELECT RELEASE_LOCK('a')");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);
  query(s, "DO RELEASE_LOCK('b')");
  EXPECT_TRUE(s.replay().ok());
  query(s, "SELECT GET_LOCK(CONCAT('job', id), 0) FROM jobs");
  query(s, "SELECT RELEASE_LOCK('job1')");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);
  query(s, "SELECT RELEASE_ALL_LOCKS()");
  EXPECT_TRUE(s.replay().ok());
}

TEST(MysqlSessionState, TableLocks) {
  SessionState s;
  query(s, "LOCK TABLES orders WRITE");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);
  query(s, "UNLOCK TABLES");
  EXPECT_TRUE(s.replay().ok());
  query(s, "FLUSH TABLES WITH READ LOCK");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);
}

TEST(MysqlSessionState, MultiStatementErrorStopsTheRest) {
  SessionState s;
  query(s, "SET @a = 1; SELECT nope; SET @b = 2", 1);
  EXPECT_EQ(s.user_variable("a"), "1");  // not transactional
  EXPECT_EQ(s.user_variable("b"), std::nullopt);
  EXPECT_EQ(s.pending(), 0u);
  query(s, "SET @c = 3");  // the next command is paired correctly
  EXPECT_EQ(s.user_variable("c"), "3");
}

TEST(MysqlSessionState, SafeElsewhere) {
  SessionState s;
  EXPECT_TRUE(s.safe_elsewhere("SELECT * FROM orders WHERE id = 1").safe());
  EXPECT_EQ(s.safe_elsewhere("SELECT LAST_INSERT_ID()").hazard, Hazard::SessionStatement);
  EXPECT_EQ(s.safe_elsewhere("SHOW WARNINGS").hazard, Hazard::SessionStatement);
  EXPECT_EQ(s.safe_elsewhere("SET @a = 1").hazard, Hazard::SessionStatement);
  EXPECT_EQ(s.safe_elsewhere("USE x").hazard, Hazard::SessionStatement);
  s.client_query("SELECT 1");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::Pending);
  s.completed(true);
  EXPECT_TRUE(s.safe_elsewhere("SELECT 1").safe());
}

TEST(MysqlSessionState, CapsMakeTheStateUncertain) {
  SessionState s(SessionLimits{.max_variables = 2, .max_prepared = 1});
  query(s, "SET @a = 1, @b = 2, @a = 3");
  EXPECT_TRUE(s.replay().ok());
  query(s, "SET @c = 1");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
  SessionState t(SessionLimits{.max_prepared = 1});
  t.client_stmt_prepare("SELECT 1");
  t.client_stmt_prepare("SELECT 2");
  t.prepare_ok(1, 0);
  t.prepare_ok(2, 0);
  auto r = t.replay();
  EXPECT_EQ(r.blocked.hazard, Hazard::Uncertain);
  EXPECT_NE(r.blocked.reason.find("prepared"), std::string::npos);
  t.client_reset_connection();
  t.completed(true);
  EXPECT_TRUE(t.replay().ok());
}

TEST(MysqlSessionState, RepliesOutOfStepLoseTrack) {
  SessionState s;
  s.completed(true);
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
  SessionState t;
  t.client_query("SELECT 1");
  t.prepare_ok(1, 0);
  EXPECT_EQ(t.replay().blocked.hazard, Hazard::Uncertain);
  SessionState u;
  u.client_stmt_prepare("SELECT 1");
  u.completed(true);  // an OK where the prepare's own reply was due
  EXPECT_EQ(u.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(MysqlSessionState, BadInputNeverThrows) {
  SessionState s;
  for (std::string_view sql : {"SET", "SET @", "SET @@", "SET @@session.", "SET x", "SET x =", "SET NAMES",
                               "SET CHARACTER SET", "USE", "PREPARE", "PREPARE x FROM", "EXECUTE", "DROP TABLE",
                               "CREATE TEMPORARY TABLE", "SELECT GET_LOCK(", "SET @`x` = 1", "SET x = 'unterminated",
                               "/*!50000 SET @a = 1 */", "\xff\x00;;", ";", ""}) {
    EXPECT_NO_THROW(query(s, sql)) << sql;
    EXPECT_NO_THROW(s.safe_elsewhere(sql));
    EXPECT_NO_THROW(s.replay());
  }
  EXPECT_EQ(s.pending(), 0u);
}
