// Random MySQL sessions against an independent reference: plain maps updated
// only when the reference server says a statement succeeded (an error ends
// the rest of a multi-statement COM_QUERY; nothing is transactional).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "protocol/mysql/session_state.h"

using namespace sy::mysql;

namespace {

struct Reference {
  std::map<std::string, std::string> vars, users;
  std::optional<std::string> db;
  std::map<uint32_t, std::string> prepared;
  bool in_txn = false;
  void reset() {
    vars.clear();
    users.clear();
    prepared.clear();
    in_txn = false;
  }
};

}  // namespace

TEST(MysqlSessionStateProperty, RandomSessionsMatchTheReference) {
  constexpr int kSessions = 2000, kCommands = 40;
  for (int seed = 0; seed < kSessions; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return int(rng() % unsigned(n)); };
    Reference ref;
    SessionState model;
    uint32_t next_id = 1;
    std::string history;
    for (int c = 0; c < kCommands; ++c) {
      int kind = pick(10);
      if (kind == 0) {  // COM_STMT_PREPARE
        std::string sql = "SELECT " + std::to_string(pick(5)) + " + ?";
        model.client_stmt_prepare(sql);
        history += "prepare " + sql;
        if (pick(5)) {
          ref.prepared[next_id] = sql;
          model.prepare_ok(next_id++, 1);
        } else {
          model.completed(false);
          history += " ERROR";
        }
      } else if (kind == 1 && !ref.prepared.empty()) {  // COM_STMT_CLOSE
        auto it = std::next(ref.prepared.begin(), pick(int(ref.prepared.size())));
        history += "close " + std::to_string(it->first);
        model.client_stmt_close(it->first);
        ref.prepared.erase(it);
      } else if (kind == 2 && pick(4) == 0) {  // COM_RESET_CONNECTION
        history += "reset";
        model.client_reset_connection();
        model.completed(true, 0x0002);
        ref.reset();
      } else if (kind == 3) {  // COM_INIT_DB
        std::string db = "db" + std::to_string(pick(3));
        bool ok = pick(6) != 0;
        history += "init_db " + db + (ok ? "" : " ERROR");
        model.client_init_db(db);
        model.completed(ok, uint16_t(0x0002 | (ref.in_txn ? 1 : 0)));
        if (ok) ref.db = db;
      } else {  // COM_QUERY of 1-3 statements
        int n = pick(4) == 0 ? 2 + pick(2) : 1;
        std::string sql;
        std::vector<std::string> stmts;
        for (int i = 0; i < n; ++i) {
          std::string v = std::to_string(pick(4)), var = "v" + std::to_string(pick(3));
          switch (pick(8)) {
            case 0: stmts.push_back("SET @u" + var + " = " + v); break;
            case 1: stmts.push_back("SET SESSION " + var + " = " + v); break;
            case 2: stmts.push_back("SET @@" + var + " = DEFAULT"); break;
            case 3: stmts.push_back("USE db" + v); break;
            case 4: stmts.push_back(pick(2) ? "BEGIN" : "START TRANSACTION"); break;
            case 5: stmts.push_back(pick(2) ? "COMMIT" : "ROLLBACK"); break;
            case 6: stmts.push_back("SELECT nope FROM nowhere"); break;
            default: stmts.push_back("SELECT 1");
          }
          sql += (i ? ";" : "") + stmts.back();
        }
        model.client_query(sql);
        history += sql + " ->";
        for (const auto& st : stmts) {
          bool ok = st.find("nope") == std::string::npos && pick(10) != 0;
          if (ok) {
            auto value = st.substr(st.rfind(' ') + 1);
            if (st.starts_with("SET @u")) ref.users[st.substr(5, st.find(' ', 5) - 5)] = value;
            else if (st.starts_with("SET SESSION")) ref.vars[st.substr(12, st.find(' ', 12) - 12)] = value;
            else if (st.starts_with("SET @@")) ref.vars.erase(st.substr(6, st.find(' ', 6) - 6));
            else if (st.starts_with("USE")) ref.db = value;
            else if (st == "BEGIN" || st == "START TRANSACTION") ref.in_txn = true;
            else if (st == "COMMIT" || st == "ROLLBACK") ref.in_txn = false;
          }
          history += ok ? " ok" : " ERROR";
          model.completed(ok, uint16_t(0x0002 | (ref.in_txn ? 1 : 0)));
          if (!ok) break;
        }
      }
      history += "\n";
      SCOPED_TRACE("seed " + std::to_string(seed) + "\n" + history);
      ASSERT_EQ(model.pending(), 0u);
      ASSERT_EQ(model.in_transaction(), ref.in_txn);
      ASSERT_EQ(model.database(), ref.db);
      for (int v = 0; v < 3; ++v) {
        std::string var = "v" + std::to_string(v);
        auto want = [](const auto& m, const std::string& k) {
          auto it = m.find(k);
          return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        ASSERT_EQ(model.variable(var), want(ref.vars, var)) << var;
        ASSERT_EQ(model.user_variable("u" + var), want(ref.users, "u" + var)) << var;
      }
      auto replay = model.replay();
      if (ref.in_txn) {
        ASSERT_EQ(replay.blocked.hazard, sy::proto::Hazard::Transaction);
        continue;
      }
      ASSERT_TRUE(replay.ok()) << replay.blocked.reason;
      size_t expected = (ref.db ? 1 : 0) + ref.vars.size() + ref.users.size();
      ASSERT_EQ(replay.statements.size(), expected);
      std::map<uint32_t, std::string> got;
      for (const auto& p : replay.prepared) got[p.client_id] = p.sql;
      ASSERT_EQ(got, ref.prepared);
    }
  }
}
