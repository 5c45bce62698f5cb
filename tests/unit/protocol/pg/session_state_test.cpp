#include "protocol/pg/session_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/common/sql_scan.h"

using namespace sy::pg;
using sy::proto::Hazard;

namespace {

// A simple Query the server answers in full: each statement succeeds, or the
// first one (index `fail_at`) fails and the rest are skipped.
void query(SessionState& s, std::string_view sql, char status = 'I', int fail_at = -1) {
  s.client_query(sql);
  auto n = std::max<size_t>(1, sy::proto::split_statements(sql, sy::proto::Dialect::Postgres).size());
  for (size_t i = 0; i < n; ++i) {
    bool ok = int(i) != fail_at;
    s.completed(ok);
    if (!ok) break;
  }
  s.ready_for_query(status);
}

std::vector<std::string> sql_steps(const SessionState& s) {
  std::vector<std::string> out;
  auto r = s.replay();
  EXPECT_TRUE(r.ok()) << r.blocked.reason;
  for (const auto& step : r.steps)
    out.push_back(step.kind == ReplayStep::Kind::Sql ? step.sql : "PARSE " + step.parse.name + ": " + step.parse.sql);
  return out;
}

using Steps = std::vector<std::string>;

}  // namespace

// ---- SET / RESET ----

TEST(PgSessionState, SetIsRecordedAndReplayed) {
  SessionState s;
  query(s, "SET statement_timeout = '5s'");
  query(s, "set SESSION DateStyle TO ISO, DMY");
  EXPECT_EQ(s.parameter("statement_timeout"), "'5s'");
  EXPECT_EQ(s.parameter("datestyle"), "ISO, DMY");
  EXPECT_EQ(sql_steps(s), (Steps{"SET statement_timeout TO '5s'", "SET datestyle TO ISO, DMY"}));
}

TEST(PgSessionState, FailedSetIsNotRecorded) {
  SessionState s;
  query(s, "SET no_such_thing = 1", 'I', 0);
  EXPECT_EQ(s.parameter("no_such_thing"), std::nullopt);
  EXPECT_TRUE(sql_steps(s).empty());
}

TEST(PgSessionState, ReplayKeepsTheOrderOfTheLastSet) {
  SessionState s;
  query(s, "SET a.x = 1");
  query(s, "SET a.y = 2");
  query(s, "SET a.x = 3");
  EXPECT_EQ(sql_steps(s), (Steps{"SET a.y TO 2", "SET a.x TO 3"}));
}

TEST(PgSessionState, NegativeNumbersAndEqualsWithoutSpaces) {
  SessionState s;
  query(s, "SET extra_float_digits=-1");
  EXPECT_EQ(s.parameter("extra_float_digits"), "-1");
}

TEST(PgSessionState, ResetAndSetDefault) {
  SessionState s;
  query(s, "SET work_mem = '64MB'; SET lock_timeout = 10");
  query(s, "RESET work_mem");
  EXPECT_EQ(s.parameter("work_mem"), std::nullopt);
  query(s, "SET lock_timeout TO DEFAULT");
  EXPECT_EQ(s.parameter("lock_timeout"), std::nullopt);
  query(s, "SET a.b = 1; SET a.c = 2");
  query(s, "RESET ALL");
  EXPECT_TRUE(sql_steps(s).empty());
}

TEST(PgSessionState, SpecialSetForms) {
  SessionState s;
  query(s, "SET TIME ZONE 'Europe/Paris'");
  query(s, "SET NAMES 'UTF8'");
  query(s, "SET SCHEMA 'app'");
  EXPECT_EQ(s.parameter("timezone"), "'Europe/Paris'");
  EXPECT_EQ(s.parameter("client_encoding"), "'UTF8'");
  EXPECT_EQ(s.parameter("search_path"), "'app'");
  query(s, "SET TIME ZONE LOCAL");
  EXPECT_EQ(s.parameter("timezone"), std::nullopt);
  query(s, "RESET TIME ZONE");
  query(s, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");  // this transaction only
  EXPECT_EQ(sql_steps(s).size(), 2u);
}

TEST(PgSessionState, SearchPathQuoting) {
  SessionState s;
  query(s, R"(SET search_path TO "My Schema", public, "x""y")");
  EXPECT_EQ(sql_steps(s), (Steps{R"(SET search_path TO "My Schema", public, "x""y")"}));
  query(s, "SET search_path = 'it''s'");
  EXPECT_EQ(sql_steps(s), (Steps{"SET search_path TO 'it''s'"}));
  query(s, R"(SET search_path = E'back\\slash')");
  EXPECT_EQ(sql_steps(s), (Steps{R"(SET search_path TO E'back\\slash')"}));
  query(s, "SET search_path = $$dollar'd$$");
  EXPECT_EQ(sql_steps(s), (Steps{"SET search_path TO 'dollar''d'"}));
}

TEST(PgSessionState, BackslashInPlainStringUnderNonStandardStringsIsUncertain) {
  SessionState s;
  s.parameter_status("standard_conforming_strings", "off");
  query(s, R"(SET application_name = 'a\b')");
  EXPECT_FALSE(s.replay().ok());
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(PgSessionState, ExpressionValueIsUncertain) {
  SessionState s;
  query(s, "SET work_mem = 1 + 1");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
  query(s, "RESET ALL");
  EXPECT_TRUE(s.replay().ok());
}

// ---- transactions ----

TEST(PgSessionState, SetInRolledBackTransactionIsUndone) {
  SessionState s;
  query(s, "SET a.keep = 1");
  query(s, "BEGIN", 'T');
  query(s, "SET a.keep = 2", 'T');
  query(s, "SET a.gone = 3", 'T');
  EXPECT_TRUE(s.in_transaction());
  EXPECT_EQ(s.parameter("a.keep"), "2");
  query(s, "ROLLBACK");
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(s.parameter("a.keep"), "1");
  EXPECT_EQ(s.parameter("a.gone"), std::nullopt);
}

TEST(PgSessionState, SetInCommittedTransactionStays) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SET a.x = 2", 'T');
  query(s, "COMMIT");
  EXPECT_EQ(s.parameter("a.x"), "2");
}

TEST(PgSessionState, CommitOfAFailedTransactionRollsBack) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SET a.x = 2", 'T');
  query(s, "SELECT 1/0", 'E', 0);
  EXPECT_TRUE(s.transaction_failed());
  query(s, "SET a.y = 1", 'E', 0);  // refused in a failed transaction
  query(s, "COMMIT");               // answered ROLLBACK
  EXPECT_EQ(s.parameter("a.x"), std::nullopt);
  EXPECT_EQ(s.parameter("a.y"), std::nullopt);
}

TEST(PgSessionState, FailedMultiStatementQueryUndoesItsSets) {
  SessionState s;
  query(s, "SET a.x = 1; SELECT 1/0; SET a.y = 2", 'I', 1);
  EXPECT_EQ(s.parameter("a.x"), std::nullopt);
  EXPECT_EQ(s.parameter("a.y"), std::nullopt);
  EXPECT_EQ(s.pending(), 0u);
}

TEST(PgSessionState, CommitInsideAMultiStatementQueryKeepsWhatCameBefore) {
  SessionState s;
  query(s, "BEGIN; SET a.x = 1; COMMIT; SET a.y = 2; SELECT 1/0", 'I', 4);
  EXPECT_EQ(s.parameter("a.x"), "1");
  EXPECT_EQ(s.parameter("a.y"), std::nullopt);
}

TEST(PgSessionState, SetLocalLastsUntilTheTransactionEnds) {
  SessionState s;
  query(s, "SET a.x = 1");
  query(s, "BEGIN", 'T');
  query(s, "SET LOCAL a.x = 2", 'T');
  EXPECT_EQ(s.parameter("a.x"), "2");
  query(s, "COMMIT");
  EXPECT_EQ(s.parameter("a.x"), "1");
  query(s, "SET LOCAL a.y = 5");  // outside a block: only its own implicit transaction
  EXPECT_EQ(s.parameter("a.y"), std::nullopt);
  EXPECT_EQ(sql_steps(s), (Steps{"SET a.x TO 1"}));
}

TEST(PgSessionState, SetAfterSetLocalSurvivesCommit) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SET LOCAL a.x = 2", 'T');
  query(s, "SET a.x = 3", 'T');
  query(s, "COMMIT");
  EXPECT_EQ(s.parameter("a.x"), "3");
}

TEST(PgSessionState, SavepointsRestoreWhatTheySaw) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SET a.x = 1", 'T');
  query(s, "SAVEPOINT sp", 'T');
  query(s, "SET a.x = 2; SET a.y = 1", 'T');
  query(s, "SELECT 1/0", 'E', 0);
  query(s, "ROLLBACK TO SAVEPOINT sp", 'T');
  EXPECT_FALSE(s.transaction_failed());
  EXPECT_EQ(s.parameter("a.x"), "1");
  EXPECT_EQ(s.parameter("a.y"), std::nullopt);
  query(s, "SAVEPOINT sp2; SET a.z = 1; RELEASE sp2", 'T');
  query(s, "COMMIT");
  EXPECT_EQ(s.parameter("a.x"), "1");
  EXPECT_EQ(s.parameter("a.z"), "1");
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, RollbackToAnUnseenSavepointIsUncertain) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "ROLLBACK TO nowhere", 'T');
  query(s, "COMMIT");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(PgSessionState, ReadyForQueryRevealsATransactionTheModelDidNotSee) {
  SessionState s;
  query(s, "SELECT begin_somehow()", 'T');
  EXPECT_TRUE(s.in_transaction());
  query(s, "SET a.x = 1", 'T');
  query(s, "ROLLBACK");
  // It can only have begun in that Query, which the model saw start.
  EXPECT_EQ(s.parameter("a.x"), std::nullopt);
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, ReadyForQueryIdleWhileTheModelThoughtATransactionOpen) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SET a.x = 1", 'T');
  query(s, "SELECT end_somehow()", 'I');  // kept or undone? the model cannot tell
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(PgSessionState, CommitAndChainStaysInATransaction) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SET a.x = 1", 'T');
  query(s, "COMMIT AND CHAIN", 'T');
  EXPECT_TRUE(s.in_transaction());
  query(s, "ROLLBACK");
  EXPECT_EQ(s.parameter("a.x"), "1");
}

// ---- set_config ----

TEST(PgSessionState, SetConfigWithLiteralsIsRecordedRaw) {
  SessionState s;
  query(s, "SELECT pg_catalog.set_config('search_path', 'a, b', false)");
  EXPECT_EQ(sql_steps(s), (Steps{"SELECT pg_catalog.set_config('search_path', 'a, b', false)"}));
  query(s, "select set_config('app.user', 'o''brien', true)");
  EXPECT_EQ(s.parameter("app.user"), std::nullopt);  // local: gone with its implicit transaction
}

TEST(PgSessionState, SetConfigThatCannotBeReadIsUncertain) {
  SessionState s;
  query(s, "SELECT set_config('app.user', $1, false)");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
  SessionState t;
  query(t, "SELECT id, set_config('app.x', name, false) FROM users");
  EXPECT_EQ(t.replay().blocked.hazard, Hazard::Uncertain);
}

// ---- prepared statements and portals ----

TEST(PgSessionState, ParseIsReplayedAsParseWithTypes) {
  SessionState s;
  s.client_parse("s1", "SELECT $1::int", {23});
  s.client_parse("", "SELECT 2");
  s.client_sync();
  s.completed(true);
  s.completed(true);
  s.ready_for_query('I');
  auto r = s.replay();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].kind, ReplayStep::Kind::Parse);
  EXPECT_EQ(r.steps[0].parse, (ParseRequest{"s1", "SELECT $1::int", {23}}));
}

TEST(PgSessionState, FailedParseAndCloseStatement) {
  SessionState s;
  s.client_parse("bad", "SELEC 1");
  s.client_sync();
  s.completed(false);
  s.ready_for_query('I');
  EXPECT_TRUE(s.prepared_names().empty());
  s.client_parse("s1", "SELECT 1");
  s.client_close('S', "s1");
  s.client_sync();
  s.completed(true);
  s.completed(true);
  s.ready_for_query('I');
  EXPECT_TRUE(s.prepared_names().empty());
}

TEST(PgSessionState, ErrorSkipsTheRestOfTheBatch) {
  SessionState s;
  s.client_parse("", "SET a.x = 1");
  s.client_bind("", "");
  s.client_execute("");
  s.client_parse("s2", "SELECT 1/0");
  s.client_bind("", "s2");
  s.client_execute("");
  s.client_parse("s3", "SELECT 3");  // skipped by the server
  s.client_sync();
  for (int i = 0; i < 5; ++i) s.completed(true);
  s.completed(false);  // the division
  s.ready_for_query('I');
  EXPECT_EQ(s.parameter("a.x"), std::nullopt);  // the batch was one implicit transaction
  EXPECT_EQ(s.prepared_names(), (std::vector<std::string>{"s2"}));  // prepared statements are not transactional
  EXPECT_EQ(s.pending(), 0u);
}

TEST(PgSessionState, ExtendedProtocolSetIsRecorded) {
  SessionState s;
  s.client_parse("", "SET application_name = 'worker'");
  s.client_bind("", "");
  s.client_execute("");
  s.client_sync();
  for (int i = 0; i < 3; ++i) s.completed(true);
  s.ready_for_query('I');
  EXPECT_EQ(s.parameter("application_name"), "'worker'");
}

TEST(PgSessionState, SqlPrepareDeallocate) {
  SessionState s;
  query(s, "PREPARE Q1 (int) AS SELECT $1");
  query(s, "PREPARE q2 AS SELECT 2");
  EXPECT_EQ(s.prepared_names(), (std::vector<std::string>{"q1", "q2"}));
  EXPECT_EQ(sql_steps(s), (Steps{"PREPARE Q1 (int) AS SELECT $1", "PREPARE q2 AS SELECT 2"}));
  query(s, "DEALLOCATE PREPARE q1");
  EXPECT_EQ(s.prepared_names(), (std::vector<std::string>{"q2"}));
  query(s, "DEALLOCATE ALL");
  EXPECT_TRUE(s.prepared_names().empty());
}

TEST(PgSessionState, PreparedStatementsAreNotTransactional) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "PREPARE q AS SELECT 1", 'T');
  query(s, "ROLLBACK");
  EXPECT_EQ(s.prepared_names(), (std::vector<std::string>{"q"}));
}

TEST(PgSessionState, PreparedStatementsReplayWithTheirSearchPath) {
  SessionState s;
  query(s, "SET search_path = app");
  query(s, "PREPARE q AS SELECT * FROM orders");
  query(s, "SET search_path = other");
  EXPECT_EQ(sql_steps(s), (Steps{"SET search_path TO other", "SET search_path TO app",
                                 "PREPARE q AS SELECT * FROM orders", "SET search_path TO other"}));
}

TEST(PgSessionState, ExecuteOfAPreparedSetConfigApplies) {
  SessionState s;
  query(s, "PREPARE q AS SELECT set_config('app.x', 'v', false)");
  EXPECT_EQ(s.parameter("app.x"), std::nullopt);
  query(s, "EXECUTE q");
  EXPECT_EQ(s.parameter("app.x"), "v");
}

TEST(PgSessionState, PortalsEndWithTheirTransaction) {
  SessionState s;
  query(s, "BEGIN", 'T');
  s.client_parse("s", "SELECT 1");
  s.client_bind("p1", "s");
  s.client_sync();
  s.completed(true);
  s.completed(true);
  s.ready_for_query('T');
  EXPECT_TRUE(s.has_portal("p1"));
  s.client_close('P', "p1");
  s.client_bind("p2", "s");
  s.client_sync();
  s.completed(true);
  s.completed(true);
  s.ready_for_query('T');
  EXPECT_FALSE(s.has_portal("p1"));
  EXPECT_TRUE(s.has_portal("p2"));
  query(s, "COMMIT");
  EXPECT_FALSE(s.has_portal("p2"));
}

// ---- DISCARD, temp tables, locks, LISTEN ----

TEST(PgSessionState, DiscardAllClearsEverything) {
  SessionState s;
  query(s, "SET a.x = 1; PREPARE q AS SELECT 1");
  query(s, "CREATE TEMP TABLE t (id int)");
  query(s, "SELECT pg_advisory_lock(42)");
  query(s, "LISTEN jobs");
  query(s, "SET work_mem = 1 + 1");
  EXPECT_FALSE(s.replay().ok());
  query(s, "DISCARD ALL");
  EXPECT_TRUE(sql_steps(s).empty());
  EXPECT_TRUE(s.safe_elsewhere("SELECT 1").safe());
}

TEST(PgSessionState, DiscardTempAndPlans) {
  SessionState s;
  query(s, "CREATE TEMPORARY TABLE t (id int)");
  query(s, "DISCARD PLANS");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::TempTables);
  query(s, "DISCARD TEMP");
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, TempTables) {
  SessionState s;
  query(s, "CREATE TEMP TABLE IF NOT EXISTS Scratch AS SELECT 1");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::TempTables);
  query(s, "DROP TABLE IF EXISTS other, scratch");
  EXPECT_TRUE(s.safe_elsewhere("SELECT 1").safe());
  query(s, "SELECT * INTO TEMP TABLE t2 FROM orders");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::TempTables);
  query(s, "DROP TABLE t2");
  query(s, "BEGIN", 'T');
  query(s, "CREATE TEMP TABLE t3 (a int)", 'T');
  query(s, "CREATE TEMP TABLE t4 (a int) ON COMMIT DROP", 'T');
  query(s, "ROLLBACK");
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, AdvisoryLocks) {
  SessionState s;
  query(s, "SELECT pg_advisory_lock(1), pg_advisory_lock(1)");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::Locks);
  query(s, "SELECT pg_advisory_unlock(1)");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);  // taken twice
  query(s, "SELECT pg_advisory_unlock(1)");
  EXPECT_TRUE(s.replay().ok());
  query(s, "SELECT pg_advisory_lock(id) FROM jobs");  // how many, which: unknown
  query(s, "SELECT pg_advisory_unlock(1)");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);
  query(s, "SELECT pg_advisory_unlock_all()");
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, AdvisoryLocksSurviveRollbackAndFailedLocksAreNotHeld) {
  SessionState s;
  query(s, "BEGIN", 'T');
  query(s, "SELECT pg_try_advisory_lock_shared(7)", 'T');
  query(s, "ROLLBACK");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Locks);
  SessionState t;
  query(t, "SELECT pg_advisory_lock(1)", 'I', 0);
  EXPECT_TRUE(t.replay().ok());
  query(t, "SELECT pg_advisory_xact_lock(1)");  // released with its transaction
  EXPECT_TRUE(t.replay().ok());
}

TEST(PgSessionState, ListenUnlisten) {
  SessionState s;
  query(s, "LISTEN a; LISTEN \"B\"");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::Listen);
  query(s, "UNLISTEN a");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Listen);
  query(s, "UNLISTEN *");
  EXPECT_TRUE(s.replay().ok());
  query(s, "BEGIN; LISTEN c; ROLLBACK");
  EXPECT_TRUE(s.replay().ok());
}

// ---- safe_elsewhere ----

TEST(PgSessionState, SafeElsewhere) {
  SessionState s;
  EXPECT_TRUE(s.safe_elsewhere("SELECT * FROM orders").safe());
  EXPECT_EQ(s.safe_elsewhere("SET a.x = 1").hazard, Hazard::SessionStatement);
  EXPECT_EQ(s.safe_elsewhere("SELECT currval('s')").hazard, Hazard::SessionStatement);
  EXPECT_EQ(s.safe_elsewhere("FETCH 10 FROM c").hazard, Hazard::SessionStatement);
  EXPECT_EQ(s.safe_elsewhere("SELECT 1; BEGIN").hazard, Hazard::SessionStatement);
  s.client_query("SET a.x = 1");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::Pending);
  s.completed(true);
  s.ready_for_query('T');
  auto v = s.safe_elsewhere("SELECT 1");
  EXPECT_EQ(v.hazard, Hazard::Transaction);
  EXPECT_FALSE(v.reason.empty());
}

TEST(PgSessionState, ExecuteOfAReplayedStatementIsSafe) {
  SessionState s;
  query(s, "PREPARE q AS SELECT 1");
  EXPECT_TRUE(s.safe_elsewhere("EXECUTE q").safe());
  query(s, "PREPARE w AS SELECT set_config('a.x', '1', false)");
  EXPECT_EQ(s.safe_elsewhere("EXECUTE w").hazard, Hazard::SessionStatement);
}

TEST(PgSessionState, RoleIsNotReplayable) {
  SessionState s;
  query(s, "SET ROLE admin");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::NotReplayable);
  query(s, "RESET ROLE");
  EXPECT_TRUE(s.replay().ok());
  query(s, "SET SESSION AUTHORIZATION 'bob'");
  EXPECT_EQ(s.safe_elsewhere("SELECT 1").hazard, Hazard::NotReplayable);
}

// ---- startup, limits, bad input ----

TEST(PgSessionState, StartupParametersAreReplayedAndAreWhatResetReturnsTo) {
  SessionState s;
  s.startup_parameter("user", "app");
  s.startup_parameter("application_name", "api");
  s.startup_parameter("options", "-c search_path=app\\,public --statement-timeout=5s");
  query(s, "SET application_name = 'other'");
  EXPECT_EQ(sql_steps(s), (Steps{"SELECT pg_catalog.set_config('search_path', 'app,public', false)",
                                 "SELECT pg_catalog.set_config('statement_timeout', '5s', false)",
                                 "SET application_name TO 'other'"}));
  query(s, "RESET application_name");
  EXPECT_EQ(s.parameter("application_name"), "api");
  SessionState t;
  t.startup_parameter("options", "-X weird");
  EXPECT_EQ(t.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(PgSessionState, ParameterCapMakesTheStateUncertain) {
  SessionState s(SessionLimits{.max_parameters = 2});
  query(s, "SET a.a = 1; SET a.b = 2");
  EXPECT_TRUE(s.replay().ok());
  query(s, "SET a.a = 3");  // replacing is fine
  EXPECT_TRUE(s.replay().ok());
  query(s, "SET a.c = 3");
  auto r = s.replay();
  EXPECT_EQ(r.blocked.hazard, Hazard::Uncertain);
  EXPECT_NE(r.blocked.reason.find("parameters"), std::string::npos);
  query(s, "RESET ALL");
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, PreparedCapMakesTheStateUncertain) {
  SessionState s(SessionLimits{.max_prepared = 1});
  query(s, "PREPARE a AS SELECT 1");
  query(s, "PREPARE b AS SELECT 2");
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
  query(s, "DEALLOCATE ALL");
  EXPECT_TRUE(s.replay().ok());
}

TEST(PgSessionState, RepliesOutOfStepLoseTrack) {
  SessionState s;
  s.completed(true);
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
  SessionState t;
  t.client_query("SELECT 1; SELECT 2");
  t.completed(true);
  t.ready_for_query('I');  // one reply missing
  EXPECT_EQ(t.safe_elsewhere("SELECT 1").hazard, Hazard::Uncertain);
  SessionState u(SessionLimits{.max_pending = 3});
  for (int i = 0; i < 3; ++i) u.client_query("SELECT 1");
  EXPECT_EQ(u.replay().blocked.hazard, Hazard::Uncertain);
  EXPECT_EQ(u.pending(), 0u);
}

TEST(PgSessionState, BadInputNeverThrows) {
  SessionState s;
  for (std::string_view sql : {"SET", "SET x", "SET x TO", "SET 'x' = 1", "RESET", "PREPARE", "PREPARE x",
                               "DEALLOCATE", "SET search_path = 'unterminated", "SET x = E'\\", "SELECT set_config(",
                               "SELECT pg_advisory_lock(", "CREATE TEMP", "DROP TABLE", "ROLLBACK TO", "LISTEN",
                               "SET x = U&'\\0041'", "SET x = $a$b", "\xff\xfe;;;", "", ";", "SET x = E'\\x'"}) {
    EXPECT_NO_THROW(query(s, sql)) << sql;
    EXPECT_NO_THROW(s.safe_elsewhere(sql)) << sql;
    EXPECT_NO_THROW(s.replay());
  }
  EXPECT_EQ(s.pending(), 0u);
  s.ready_for_query('?');
  EXPECT_EQ(s.replay().blocked.hazard, Hazard::Uncertain);
}

TEST(PgSessionEffects, DecodeString) {
  std::string out;
  EXPECT_TRUE(decode_string("'a''b'", true, out));
  EXPECT_EQ(out, "a'b");
  EXPECT_TRUE(decode_string(R"(E'\n\t\\\'\101\x41')", true, out));
  EXPECT_EQ(out, "\n\t\\'AA");
  EXPECT_TRUE(decode_string("$tag$x$y$tag$", true, out));
  EXPECT_EQ(out, "x$y");
  EXPECT_FALSE(decode_string("U&'x'", true, out));
  EXPECT_FALSE(decode_string(R"('a\b')", false, out));
  EXPECT_FALSE(decode_string("'a' 'b'", true, out));
  EXPECT_FALSE(decode_string(R"(E'\000')", true, out));
}
