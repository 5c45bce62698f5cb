// Random sessions against an independent reference: the reference keeps whole
// copies of the parameter maps at BEGIN, at each savepoint and at the start of
// each implicit transaction, and decides like the server which statements
// succeed (a failed transaction refuses all but ROLLBACK/COMMIT/ROLLBACK TO,
// an error ends the rest of a Query, injected failures hit anything else).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/pg/session_state.h"

using namespace sy::pg;

namespace {

using Params = std::map<std::string, std::string>;

struct Reference {
  Params params, local;
  std::set<std::string> prepared;
  bool in_block = false, failed = false, implicit_open = false;
  Params block_start, implicit_start;
  struct Savepoint {
    std::string name;
    Params params, local;
  };
  std::vector<Savepoint> savepoints;

  std::optional<std::string> effective(const std::string& name) const {
    if (auto it = local.find(name); it != local.end()) return it->second;
    if (auto it = params.find(name); it != params.end()) return it->second;
    return std::nullopt;
  }
  void end_block(bool commit) {
    if (!commit) params = block_start;
    local.clear();
    savepoints.clear();
    in_block = failed = false;
  }
  void end_implicit(bool commit) {
    if (!commit) params = implicit_start;
    local.clear();
    implicit_open = false;
  }
};

enum class Op { Set, SetLocal, Reset, ResetAll, Begin, Commit, Rollback, Savepoint, RollbackTo, Release,
                Prepare, Deallocate, DeallocateAll, DiscardAll, Fail, Count };

struct Stmt {
  Op op;
  std::string sql, name, value;
};

Stmt random_stmt(std::mt19937& rng) {
  auto pick = [&](int n) { return int(rng() % unsigned(n)); };
  Stmt s{Op(pick(int(Op::Count)))};
  std::string var = "a.v" + std::to_string(pick(4)), val = std::to_string(pick(4));
  std::string sp = "s" + std::to_string(pick(2)), p = "p" + std::to_string(pick(3));
  switch (s.op) {
    case Op::Set: s = {s.op, "SET " + var + " = " + val, var, val}; break;
    case Op::SetLocal: s = {s.op, "SET LOCAL " + var + " TO " + val, var, val}; break;
    case Op::Reset: s = {s.op, "RESET " + var, var}; break;
    case Op::ResetAll: s.sql = "RESET ALL"; break;
    case Op::Begin: s.sql = pick(2) ? "BEGIN" : "START TRANSACTION"; break;
    case Op::Commit: s.sql = pick(2) ? "COMMIT" : "END"; break;
    case Op::Rollback: s.sql = pick(2) ? "ROLLBACK" : "ABORT"; break;
    case Op::Savepoint: s = {s.op, "SAVEPOINT " + sp, sp}; break;
    case Op::RollbackTo: s = {s.op, "ROLLBACK TO SAVEPOINT " + sp, sp}; break;
    case Op::Release: s = {s.op, "RELEASE " + sp, sp}; break;
    case Op::Prepare: s = {s.op, "PREPARE " + p + " AS SELECT 1", p}; break;
    case Op::Deallocate: s = {s.op, "DEALLOCATE " + p, p}; break;
    case Op::DeallocateAll: s.sql = "DEALLOCATE ALL"; break;
    case Op::DiscardAll: s.sql = "DISCARD ALL"; break;
    case Op::Fail: s.sql = "SELECT 1/0"; break;
    case Op::Count: break;
  }
  return s;
}

// Runs one Query on the reference; returns how the server answered each statement.
std::vector<bool> run(Reference& r, const std::vector<Stmt>& stmts, std::mt19937& rng) {
  std::vector<bool> answers;
  for (const auto& s : stmts) {
    if (!r.in_block && !r.implicit_open) {
      r.implicit_open = true;
      r.implicit_start = r.params;
    }
    auto sp = std::find_if(r.savepoints.rbegin(), r.savepoints.rend(), [&](auto& x) { return x.name == s.name; });
    bool has_sp = sp != r.savepoints.rend();
    bool ok;
    if (r.failed) {
      ok = s.op == Op::Commit || s.op == Op::Rollback || (s.op == Op::RollbackTo && has_sp);
    } else {
      switch (s.op) {
        case Op::Savepoint: ok = r.in_block; break;
        case Op::RollbackTo:
        case Op::Release: ok = r.in_block && has_sp; break;
        case Op::DiscardAll: ok = !r.in_block && stmts.size() == 1; break;
        case Op::Prepare: ok = !r.prepared.count(s.name); break;
        case Op::Deallocate: ok = r.prepared.count(s.name) > 0; break;
        case Op::Fail: ok = false; break;
        default: ok = rng() % 12 != 0;  // a refused value, a lost permission …
      }
    }
    answers.push_back(ok);
    if (!ok) {
      if (r.in_block) r.failed = true;
      else r.end_implicit(false);
      break;
    }
    switch (s.op) {
      case Op::Set:
        r.params[s.name] = s.value;
        r.local.erase(s.name);
        break;
      case Op::SetLocal: r.local[s.name] = s.value; break;
      case Op::Reset:
        r.params.erase(s.name);
        r.local.erase(s.name);
        break;
      case Op::ResetAll: r.params.clear(), r.local.clear(); break;
      case Op::Begin:
        if (!r.in_block) {
          r.in_block = true;
          r.block_start = r.implicit_start;  // what ran before BEGIN in this Query joins the block
          r.implicit_open = false;
        }
        break;
      case Op::Commit:
        if (r.in_block) r.end_block(!r.failed);
        else r.end_implicit(true);
        break;
      case Op::Rollback:
        if (r.in_block) r.end_block(false);
        else r.end_implicit(false);
        break;
      case Op::Savepoint: r.savepoints.push_back({s.name, r.params, r.local}); break;
      case Op::RollbackTo:
        r.params = sp->params;
        r.local = sp->local;
        r.savepoints.erase(sp.base(), r.savepoints.end());
        r.failed = false;
        break;
      case Op::Release: r.savepoints.erase(std::prev(sp.base()), r.savepoints.end()); break;
      case Op::Prepare: r.prepared.insert(s.name); break;
      case Op::Deallocate: r.prepared.erase(s.name); break;
      case Op::DeallocateAll: r.prepared.clear(); break;
      case Op::DiscardAll: r.params.clear(), r.local.clear(), r.prepared.clear(); break;
      case Op::Fail:
      case Op::Count: break;
    }
  }
  if (r.implicit_open) r.end_implicit(true);
  return answers;
}

}  // namespace

TEST(PgSessionStateProperty, RandomSessionsMatchTheReference) {
  constexpr int kSessions = 3000, kQueries = 30;
  for (int seed = 0; seed < kSessions; ++seed) {
    std::mt19937 rng(seed);
    Reference ref;
    SessionState model;
    std::string history;
    for (int q = 0; q < kQueries; ++q) {
      std::vector<Stmt> stmts;
      int n = rng() % 4 == 0 ? 2 + int(rng() % 2) : 1;
      std::string sql;
      for (int i = 0; i < n; ++i) {
        stmts.push_back(random_stmt(rng));
        sql += (i ? "; " : "") + stmts.back().sql;
      }
      auto answers = run(ref, stmts, rng);
      model.client_query(sql);
      for (bool ok : answers) model.completed(ok);
      model.ready_for_query(ref.in_block ? (ref.failed ? 'E' : 'T') : 'I');
      history += sql + " ->";
      for (bool ok : answers) history += ok ? " ok" : " ERROR";
      history += "\n";

      SCOPED_TRACE("seed " + std::to_string(seed) + "\n" + history);
      ASSERT_EQ(model.in_transaction(), ref.in_block);
      ASSERT_EQ(model.transaction_failed(), ref.failed);
      for (int v = 0; v < 4; ++v) {
        std::string name = "a.v" + std::to_string(v);
        ASSERT_EQ(model.parameter(name), ref.effective(name)) << name;
      }
      auto names = model.prepared_names();
      ASSERT_EQ(std::set<std::string>(names.begin(), names.end()), ref.prepared);
      auto replay = model.replay();
      if (ref.in_block) {
        ASSERT_EQ(replay.blocked.hazard, sy::proto::Hazard::Transaction);
        continue;
      }
      ASSERT_TRUE(replay.ok()) << replay.blocked.reason;
      std::vector<std::string> got, want;
      for (const auto& step : replay.steps) got.push_back(step.sql);
      for (const auto& [k, v] : ref.params) want.push_back("SET " + k + " TO " + v);
      for (const auto& p : ref.prepared) want.push_back("PREPARE " + p + " AS SELECT 1");
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      ASSERT_EQ(got, want);
    }
  }
}
