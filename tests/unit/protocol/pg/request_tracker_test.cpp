#include "protocol/pg/request_tracker.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/unit/protocol/pg/message_bytes.h"

using namespace sy::pg;
using namespace std::literals;

namespace {

using sy::pg::testing::msg;
std::string cstr(std::string_view s) { return std::string(s) + '\0'; }

// Frontend messages.
std::string query(std::string_view sql) { return msg('Q', cstr(sql)); }
std::string parse(std::string_view name) { return msg('P', cstr(name) + cstr("SELECT 1") + std::string(2, '\0')); }
std::string bind(std::string_view portal, std::string_view stmt) {
  return msg('B', cstr(portal) + cstr(stmt) + std::string(6, '\0'));
}
std::string describe(char target, std::string_view name) { return msg('D', target + cstr(name)); }
std::string execute(std::string_view portal) { return msg('E', cstr(portal) + std::string(4, '\0')); }
std::string close(char target, std::string_view name) { return msg('C', target + cstr(name)); }
const std::string kSync = msg('S');
const std::string kFlush = msg('H');
// Backend messages.
std::string ready(char status) { return msg('Z', std::string(1, status)); }
const std::string kError = msg('E', "SERROR\0C22012\0Mdivision by zero\0\0"sv);
const std::string kCommandComplete = msg('C', cstr("SELECT 1"));
const std::string kRow = msg('D', "\0\1\0\0\0\1" "1"sv);
const std::string kRowDescription = msg('T', std::string(2, '\0'));


// Feeds server messages and returns the role and request id of the last.
std::string roles(RequestTracker& t, std::initializer_list<std::string> server) {
  std::string out;
  for (const auto& m : server) {
    Reply r = t.server_message(m);
    out += r.role == ReplyRole::Async ? "a" : r.role == ReplyRole::Lost ? "L" : std::to_string(r.request->id);
    if (r.last) out += '.';
    out += ' ';
  }
  return out;
}

void client(RequestTracker& t, std::initializer_list<std::string> messages) {
  for (const auto& m : messages) t.client_message(m);
}

}  // namespace

TEST(PgRequestTracker, SimpleMultiStatementQuery) {
  RequestTracker t;
  EXPECT_TRUE(t.idle());
  Sent s = t.client_message(query("SELECT 1; SELECT 2; BEGIN"));
  ASSERT_NE(s.request, nullptr);
  EXPECT_EQ(s.request->kind, RequestKind::Query);
  EXPECT_FALSE(t.idle());
  EXPECT_EQ(roles(t, {kRowDescription, kRow, kCommandComplete, kRowDescription, kRow, kCommandComplete,
                      msg('N', "SWARNING\0\0"sv), kCommandComplete, ready('T')}),
            "1 1 1 1 1 1 a 1 1. ");
  EXPECT_TRUE(t.idle());
  EXPECT_EQ(t.transaction(), TransactionStatus::InBlock);
}

TEST(PgRequestTracker, EmptyQueryAndErrorInABlock) {
  RequestTracker t;
  client(t, {query(""), query("SELECT 1/0")});
  EXPECT_EQ(roles(t, {msg('I'), ready('T'), kError, ready('E')}), "1 1. 2 2. ");
  EXPECT_EQ(t.transaction(), TransactionStatus::Failed);
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, PipelineWithManySyncs) {
  RequestTracker t;
  client(t, {parse("s1"), bind("p1", "s1"), describe('P', "p1"), execute("p1"), kSync,  // #1..#5
             bind("", "s1"), execute(""), kSync,                                        // #6..#8
             describe('S', "s1"), close('S', "s1"), kSync});                            // #9..#11
  EXPECT_EQ(t.pending_syncs(), 3u);
  EXPECT_EQ(t.current()->statement, "s1");
  EXPECT_EQ(roles(t, {msg('1'), msg('2'), kRowDescription, kRow, kRow, kCommandComplete, ready('I')}),
            "1. 2. 3. 4 4 4. 5. ");
  EXPECT_EQ(t.pending_syncs(), 2u);
  EXPECT_FALSE(t.idle());
  EXPECT_EQ(roles(t, {msg('2'), msg('s'), ready('I')}), "6. 7. 8. ");
  EXPECT_EQ(roles(t, {msg('t', std::string(2, '\0')), msg('n'), msg('3'), ready('I')}), "9 9. 10. 11. ");
  EXPECT_EQ(t.pending_syncs(), 0u);
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, ErrorSkipsQueuedRequestsUpToTheSync) {
  RequestTracker t;
  client(t, {parse(""), bind("", ""), execute(""), parse("later"), bind("", "later"), execute(""), kSync});
  t.server_message(msg('1'));
  Reply r = t.server_message(kError);
  ASSERT_EQ(r.role, ReplyRole::Answer);
  EXPECT_TRUE(r.last);
  EXPECT_EQ(r.request->id, 2u);
  EXPECT_EQ(r.request->outcome, Outcome::Failed);
  ASSERT_EQ(r.finished.size(), 5u);  // the Bind that failed, then #3..#6 skipped
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(r.finished[i].id, 2 + i);
    EXPECT_EQ(r.finished[i].outcome, Outcome::Skipped);
  }
  EXPECT_EQ(r.finished[3].statement, "later");
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_EQ(roles(t, {ready('I')}), "7. ");
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, ErrorBeforeTheSyncIsSentSkipsWhatComesUntilIt) {
  RequestTracker t;
  client(t, {parse(""), kFlush});
  EXPECT_EQ(roles(t, {kError}), "1. ");
  EXPECT_FALSE(t.idle()) << "the server waits for a Sync";
  for (const auto& m : {bind("", ""), execute(""), query("SELECT 1")}) {
    Sent s = t.client_message(m);
    ASSERT_EQ(s.finished.size(), 1u);
    EXPECT_EQ(s.request->outcome, Outcome::Skipped);
  }
  Sent sync = t.client_message(kSync);
  EXPECT_TRUE(sync.finished.empty());
  EXPECT_EQ(roles(t, {ready('I')}), "5. ");
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, ErrorAtSyncStillEndsWithReadyForQuery) {
  // A deferred constraint fails at the implicit commit the Sync makes.
  RequestTracker t;
  client(t, {bind("", "s"), execute(""), kSync});
  EXPECT_EQ(roles(t, {msg('2'), kCommandComplete, kError}), "1. 2. 3 ");
  Reply r = t.server_message(ready('I'));
  EXPECT_EQ(r.request->outcome, Outcome::Failed);
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, AnsweredButUnsyncedIsNotIdle) {
  RequestTracker t;
  client(t, {parse(""), bind("", ""), execute(""), kFlush});
  EXPECT_EQ(roles(t, {msg('1'), msg('2'), kCommandComplete}), "1. 2. 3. ");
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_FALSE(t.idle());
  client(t, {kSync});
  EXPECT_EQ(roles(t, {ready('T')}), "4. ");
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, FunctionCall) {
  RequestTracker t;
  client(t, {msg('F', std::string(10, '\0'))});
  EXPECT_EQ(t.current()->kind, RequestKind::FunctionCall);
  EXPECT_EQ(roles(t, {msg('V', std::string(4, '\xff')), ready('I')}), "1 1. ");
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, CopyInSimpleAndExtended) {
  RequestTracker t;
  client(t, {query("COPY t FROM STDIN")});
  EXPECT_EQ(roles(t, {msg('G', std::string(3, '\0'))}), "1 ");
  EXPECT_FALSE(t.idle());
  client(t, {msg('d', "1\n"), msg('c')});
  EXPECT_EQ(roles(t, {kCommandComplete, ready('I')}), "1 1. ");
  // libpq: Execute and Sync together; the server drops that Sync during the copy.
  client(t, {bind("", ""), execute(""), kSync});
  EXPECT_EQ(roles(t, {msg('2')}), "2. ");
  Reply g = t.server_message(msg('G', std::string(3, '\0')));
  ASSERT_EQ(g.finished.size(), 1u);
  EXPECT_EQ(g.finished[0].kind, RequestKind::Sync);
  EXPECT_EQ(g.finished[0].outcome, Outcome::Skipped);
  EXPECT_EQ(t.pending_syncs(), 0u);
  EXPECT_EQ(t.client_message(kSync).finished.size(), 1u) << "also dropped while the copy runs";
  client(t, {msg('d', "1\n"), msg('f', cstr("no")), kSync});
  EXPECT_EQ(roles(t, {kError, ready('I')}), "3. 6. ");
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, CopyOutAndCopyBoth) {
  RequestTracker t;
  client(t, {query("COPY t TO STDOUT")});
  EXPECT_EQ(roles(t, {msg('H', std::string(3, '\0')), msg('d', "1\n"), msg('c'), kCommandComplete, ready('I')}),
            "1 1 1 1 1. ");
  client(t, {query("START_REPLICATION")});
  EXPECT_EQ(roles(t, {msg('W', std::string(3, '\0')), msg('d', "x")}), "2 2 ");
  client(t, {msg('d', "y"), msg('c')});
  EXPECT_EQ(roles(t, {msg('c'), kCommandComplete, ready('I')}), "2 2 2. ");
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, AsyncMessagesBelongToNoRequest) {
  RequestTracker t;
  EXPECT_EQ(roles(t, {msg('S', cstr("TimeZone") + cstr("UTC")), msg('A', std::string(4, '\0') + cstr("c") + cstr("p")),
                      msg('N', "SNOTICE\0\0"sv)}),
            "a a a ");
  EXPECT_EQ(roles(t, {msg('E', "SFATAL\0C57P01\0\0"sv)}), "a ") << "the server ending an idle session";
  EXPECT_TRUE(t.idle());
}

TEST(PgRequestTracker, LongAndUnterminatedNamesAreCut) {
  RequestTracker t;
  std::string long_name(300, 'n');
  Sent s = t.client_message(parse(long_name));
  EXPECT_TRUE(s.request->name_cut);
  EXPECT_EQ(s.request->statement.size(), RequestTracker::kMaxNameBytes);
  // The first piece of a streamed Bind: its names may be incomplete.
  std::string b = bind("portal", "statement");
  s = t.client_message(std::string_view(b).substr(0, 12));
  EXPECT_EQ(s.request->portal, "portal");
  EXPECT_EQ(s.request->statement, "");
  EXPECT_TRUE(s.request->name_cut);
}

// Hostile or impossible input: it gives up, says why, and stays given up.
TEST(PgRequestTracker, GoesLostOnWhatItCannotPlace) {
  struct Case {
    const char* name;
    std::vector<std::string> client;
    std::vector<std::string> server;
  };
  const std::vector<Case> cases = {
      {"answer with no request", {}, {msg('1')}},
      {"ReadyForQuery with no request", {}, {ready('I')}},
      {"wrong answer", {parse("")}, {msg('2')}},
      {"ReadyForQuery for a Parse", {parse("")}, {ready('I')}},
      {"ReadyForQuery without status", {kSync}, {msg('Z')}},
      {"ReadyForQuery with a bad status", {kSync}, {ready('X')}},
      {"rows for a Bind", {bind("", "")}, {kRow}},
      {"second ParameterDescription", {describe('S', "")}, {msg('t'), msg('t')}},
      {"copy data out of the blue", {execute("")}, {msg('d', "x")}},
      {"completion while the client still copies", {query("COPY t FROM STDIN")}, {msg('G'), kCommandComplete}},
      {"short server header", {query("")}, {std::string("C\0\0", 3)}},
      {"impossible server length", {query("")}, {std::string("C\0\0\0", 5)}},
      {"unknown client message", {msg('p', "secret")}, {}},
      {"short client header", {std::string("Q\0", 2)}, {}},
      {"request inside COPY data", {query("COPY t FROM STDIN")}, {msg('G'), "C:" + parse("")}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RequestTracker t;
    for (const auto& m : c.client) t.client_message(m);
    for (const auto& m : c.server) {
      if (m.rfind("C:", 0) == 0) t.client_message(m.substr(2));  // a client message after the server's
      else t.server_message(m);
    }
    EXPECT_TRUE(t.lost());
    EXPECT_FALSE(t.lost_reason().empty());
    EXPECT_FALSE(t.idle());
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_EQ(t.server_message(ready('I')).role, ReplyRole::Lost);
    EXPECT_EQ(t.client_message(query("SELECT 1")).request, nullptr);
    EXPECT_TRUE(t.lost());
  }
}

TEST(PgRequestTracker, BoundedPending) {
  RequestTracker t(3);
  client(t, {parse(""), bind("", ""), execute("")});
  EXPECT_FALSE(t.lost());
  t.client_message(kSync);
  EXPECT_TRUE(t.lost());
  EXPECT_EQ(t.pending(), 0u);
}

TEST(PgRequestTracker, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  const std::string types = "QPBDECSHFdcfX123tTnDCIsGHWVZENSAK";
  for (int round = 0; round < 2000; ++round) {
    RequestTracker t(64);
    for (int i = 0; i < 40; ++i) {
      std::string body(rng() % 12, '\0');
      for (auto& b : body) b = char(rng() % 4 == 0 ? 0 : rng());
      std::string m = msg(types[rng() % types.size()], body);
      if (rng() % 10 == 0) m.resize(rng() % m.size());  // a cut or garbage header
      if (rng() % 2) t.client_message(m);
      else t.server_message(m);
      EXPECT_LE(t.pending(), 64u);
      if (t.lost()) {
        EXPECT_FALSE(t.idle());
        break;
      }
    }
  }
}
