// The tracker against what real clients and a real PostgreSQL 15 said to each
// other (recordings/, remade by recordings/make_recordings.sh). Each recording
// is replayed three ways, which must agree: as the reads came, a byte at a
// time, and a byte at a time with only what the tracker reads buffered whole.
#include <gtest/gtest.h>

#include "tests/unit/protocol/pg/recording.h"

using namespace sy::pg;
using namespace sy::pg::testing;

namespace {

struct Expected {
  const char* file;
  std::map<std::string, int> outcomes;  //!< "Kind:Outcome" -> count
  std::string statuses;                 //!< of every ReadyForQuery, in order
};

// Replays `file` every way and checks what must hold at the end of a session
// that ended cleanly; returns the first replay for the recording's own checks.
Replay replay_all_ways(const Expected& e) {
  auto reads = load_recording(e.file);
  Replay first(Feed::AsRecorded);
  first.run(reads);
  for (Feed feed : {Feed::ByteAtATime, Feed::Streamed}) {
    Replay again(feed);
    again.run(reads);
    EXPECT_EQ(again.trace, first.trace) << e.file << " feed " << int(feed);
  }
  const RequestTracker& t = first.tracker;
  EXPECT_FALSE(t.lost()) << t.lost_reason();
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_EQ(t.pending_syncs(), 0u);
  EXPECT_TRUE(t.idle());
  EXPECT_FALSE(first.idle_seen_with_syncs);
  EXPECT_EQ(first.settled.size(), first.last_id) << "every request settled once";
  EXPECT_EQ(outcome_counts(first), e.outcomes) << e.file;
  EXPECT_EQ(first.statuses, e.statuses) << e.file;
  return first;
}

}  // namespace

TEST(PgRequestTrackerReplay, PsqlSimpleMultiStatementErrorsAndCopy) {
  // CREATE; a three-statement query; ";" (EmptyQueryResponse); BEGIN; INSERT;
  // 1/0 and a query in the failed block; ROLLBACK; \copy in, out, in (bad row);
  // count.
  auto r = replay_all_ways({"psql_session.rec",
                            {{"Query:Completed", 9}, {"Query:Failed", 3}},
                            "IIITTEEIIIII"});
  EXPECT_NE(std::find(r.trace.begin(), r.trace.end(), "B I -> #3"), r.trace.end()) << "EmptyQueryResponse";
}

TEST(PgRequestTrackerReplay, PgbenchExtended) {
  // Two TPC-B transactions of seven statements: Parse/Bind/Describe/Execute/Sync each.
  replay_all_ways({"pgbench_extended.rec",
                   {{"Parse:Completed", 14}, {"Bind:Completed", 14}, {"DescribePortal:Completed", 14},
                    {"Execute:Completed", 14}, {"Sync:Completed", 14}},
                   "TTTTTTITTTTTTI"});
}

TEST(PgRequestTrackerReplay, PgbenchPrepared) {
  // Named statements, each parsed once with a Sync of its own when the first
  // transaction reaches it, then Bind/Describe portal/Execute/Sync by name.
  auto r = replay_all_ways({"pgbench_prepared.rec",
                            {{"Parse:Completed", 7}, {"Bind:Completed", 14}, {"DescribePortal:Completed", 14},
                             {"Execute:Completed", 14}, {"Sync:Completed", 21}},
                            "ITTTTTTTTTTTTI" "TTTTTTI"});
  std::set<std::string> names;
  for (const auto& [id, req] : r.settled)
    if (req.kind == RequestKind::Bind) names.insert(req.statement);
  EXPECT_EQ(names, (std::set<std::string>{"P_0", "P_1", "P_2", "P_3", "P_4", "P_5", "P_6"}));
}

TEST(PgRequestTrackerReplay, PsycopgPipelineWithAFailureMidPipeline) {
  // Five statements in one pipeline; the third fails at Bind (1/$1 is folded
  // when planning), so its Describe and Execute and both statements behind it
  // are skipped up to the Sync. Then six inserts (the last four by a named
  // statement) and a count that is flushed before its Sync.
  auto r = replay_all_ways({"psycopg_pipeline.rec",
                            {{"Query:Completed", 1},
                             {"Parse:Completed", 7},
                             {"Parse:Skipped", 2},
                             {"Bind:Completed", 9},
                             {"Bind:Failed", 1},
                             {"Bind:Skipped", 2},
                             {"DescribePortal:Completed", 9},
                             {"DescribePortal:Skipped", 3},
                             {"Execute:Completed", 9},
                             {"Execute:Skipped", 3},
                             {"Sync:Completed", 3}},
                            "IIII"});
  std::vector<RequestId> skipped;
  for (const auto& [id, req] : r.settled)
    if (req.outcome == Outcome::Skipped) skipped.push_back(id);
  // #1 CREATE; #2..#5 and #6..#9 the two inserts; #10 Parse, #11 Bind (fails);
  // #12..#21 skipped: its Describe and Execute, then two statements; #22 Sync.
  EXPECT_EQ(skipped, (std::vector<RequestId>{12, 13, 14, 15, 16, 17, 18, 19, 20, 21}));
  EXPECT_EQ(r.settled.at(11).kind, RequestKind::Bind);
  EXPECT_EQ(r.settled.at(11).outcome, Outcome::Failed);
  EXPECT_EQ(r.settled.at(22).kind, RequestKind::Sync);
  EXPECT_EQ(r.settled.at(22).outcome, Outcome::Completed);
}

TEST(PgRequestTrackerReplay, NodePostgresNamedPreparedStatements) {
  // Parse 'ins' once, then Bind 'ins' twice more; the three 'get' queries are
  // queued together; 'bad' fails at Parse, skipping its Bind/Describe/Execute.
  auto r = replay_all_ways({"node_prepared.rec",
                            {{"Query:Completed", 3},
                             {"Parse:Completed", 3},
                             {"Parse:Failed", 1},
                             {"Bind:Completed", 7},
                             {"Bind:Skipped", 1},
                             {"DescribePortal:Completed", 7},
                             {"DescribePortal:Skipped", 1},
                             {"Execute:Completed", 7},
                             {"Execute:Skipped", 1},
                             {"Sync:Completed", 8}},
                            "ITTTTIIIIII"});
  std::map<std::string, int> parses, binds;
  for (const auto& [id, req] : r.settled) {
    if (req.kind == RequestKind::Parse) ++parses[req.statement];
    if (req.kind == RequestKind::Bind) ++binds[req.statement];
  }
  EXPECT_EQ(parses, (std::map<std::string, int>{{"", 1}, {"bad", 1}, {"get", 1}, {"ins", 1}}));
  EXPECT_EQ(binds, (std::map<std::string, int>{{"", 1}, {"bad", 1}, {"get", 3}, {"ins", 3}}));
}

TEST(PgRequestTrackerReplay, CopyInsideExtendedPipelines) {
  // COPY FROM STDIN (its first Sync is dropped by the server, as libpq expects),
  // COPY TO STDOUT with a query behind it, and a COPY the client fails.
  auto r = replay_all_ways({"copy_pipeline.rec",
                            {{"Query:Completed", 1},
                             {"Parse:Completed", 5},
                             {"Bind:Completed", 5},
                             {"DescribePortal:Completed", 2},
                             {"Execute:Completed", 4},
                             {"Execute:Failed", 1},
                             {"Sync:Completed", 4},
                             {"Sync:Skipped", 2}},
                            "IIIII"});
  int swallowed = 0;
  for (const auto& [id, req] : r.settled) swallowed += req.kind == RequestKind::Sync && req.outcome == Outcome::Skipped;
  EXPECT_EQ(swallowed, 2);
}

TEST(PgRequestTrackerReplay, RequestInsideCopyDataEndsTheSession) {
  // Execute (COPY FROM STDIN), Sync, then a whole statement and Sync, all sent
  // at once. At CopyInResponse the server reads them as COPY input: it drops
  // the Sync, then reads a Parse mid-copy and ends the session. The tracker
  // gives up right there, before the server says so.
  Replay r(Feed::AsRecorded);
  r.allow_lost = true;
  r.run(load_recording("copy_abort.rec"));
  EXPECT_TRUE(r.tracker.lost());
  EXPECT_FALSE(r.tracker.idle());
  EXPECT_NE(r.tracker.lost_reason().find("COPY"), std::string_view::npos);
}
