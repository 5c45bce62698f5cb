// The per-worker decision cache: hits without a lock, bounded like the shared
// cache was (cleared when full, long texts not cached), one-off texts not
// kept, emptied for a rebuilt rewriter, and safe when every worker decides
// for the same tenant at once.
#include "rewrite/decision_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "rewrite/tenant_rewriter.h"
#include "tests/unit/support/test_config.h"

using namespace sy;
using rewrite::DecisionCache;
using rewrite::DecisionMap;
using rewrite::TenantRewriter;

namespace {

std::shared_ptr<const config::Config> load() {
  auto order_status = test::order_status_yaml(R"({ "Created": CREATED, "Dispatched": DISPATCHED })");
  return test::load_config(test::dual_write_yaml("[order_status]", order_status));
}

}  // namespace

TEST(DecisionMap, ClearsWhenFullAndSkipsLongTexts) {
  DecisionMap map;
  auto keep = [&](const std::string& sql) {  // seen twice: admitted
    map.insert(sql, nullptr);
    map.insert(sql, nullptr);
  };
  for (size_t i = 0; i < DecisionMap::kMaxEntries; ++i) keep("q" + std::to_string(i));
  EXPECT_EQ(map.size(), DecisionMap::kMaxEntries);
  ASSERT_NE(map.find("q16383"), nullptr);
  keep("one more");  // full: cleared first, as the shared cache did
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.find("q16383"), nullptr);
  keep(std::string(DecisionMap::kMaxText + 1, 'x'));
  EXPECT_EQ(map.size(), 1u);
}

TEST(DecisionMap, OneOffTextsAreNotKept) {
  DecisionMap map;
  // A million different literals, as `pgbench -M simple` sends them: none kept.
  for (int i = 0; i < 1000000; ++i) map.insert("UPDATE t SET s = '1' WHERE id = " + std::to_string(i), nullptr);
  EXPECT_EQ(map.size(), 0u);
  // A text that repeats is kept at its second sighting, among them.
  map.insert("SELECT 1", nullptr);
  EXPECT_EQ(map.find("SELECT 1"), nullptr);
  map.insert("UPDATE t SET s = '1' WHERE id = -1", nullptr);
  map.insert("SELECT 1", nullptr);
  EXPECT_NE(map.find("SELECT 1"), nullptr);
  EXPECT_EQ(map.size(), 1u);
}

TEST(DecisionCache, HitReturnsTheSameDecision) {
  auto cfg = load();
  TenantRewriter tr(*cfg, cfg->tenants.at(0));
  DecisionCache cache;
  const std::string sql = "UPDATE orders SET status = $1 WHERE id = $2";
  auto first = tr.decide(cache, sql, config::Phase::DualWrite, true);  // seen: remembered, not kept
  auto a = tr.decide(cache, sql, config::Phase::DualWrite, true);      // seen again: kept
  auto b = tr.decide(cache, sql, config::Phase::DualWrite, true);
  ASSERT_TRUE(a && first);
  EXPECT_NE(first.get(), a.get());
  EXPECT_EQ(first->sql, a->sql);
  EXPECT_EQ(a.get(), b.get());  // served from the cache, not decided again
  EXPECT_EQ(a->action, rewrite::Decision::Action::Rewrite);
  // Another phase is another table: decided afresh, and differently.
  auto observed = tr.decide(cache, sql, config::Phase::Observe, true);
  ASSERT_TRUE(observed);
  EXPECT_EQ(observed->action, rewrite::Decision::Action::Forward);
  // Untouched statements never reach the cache.
  EXPECT_EQ(tr.decide(cache, "SELECT 1", config::Phase::DualWrite, false), nullptr);
}

TEST(DecisionCache, RebuiltRewriterStartsEmptyAndTheOldTablesGo) {
  auto cfg = load();
  DecisionCache cache;
  const std::string sql = "UPDATE orders SET status = 'Created' WHERE id = 1";
  std::shared_ptr<const rewrite::Decision> first;
  {
    auto old = std::make_unique<TenantRewriter>(*cfg, cfg->tenants.at(0));
    old->decide(cache, sql, config::Phase::DualWrite, false);
    first = old->decide(cache, sql, config::Phase::DualWrite, false);  // kept from the second sighting
    ASSERT_EQ(first.get(), old->decide(cache, sql, config::Phase::DualWrite, false).get());
    EXPECT_EQ(cache.rewriters(), 1u);
  }
  // A reload rebuilt the rewriter (possibly at the same address).
  TenantRewriter rebuilt(*cfg, cfg->tenants.at(0));
  auto second = rebuilt.decide(cache, sql, config::Phase::DualWrite, false);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first.get(), second.get());  // decided again, not served from the old rewriter's table
  EXPECT_EQ(second->sql, first->sql);
  EXPECT_EQ(cache.rewriters(), 1u);  // the destroyed rewriter's tables were dropped
}

TEST(DecisionCache, WorkersDecideForOneTenantAtOnce) {
  // Run under TSan to check: each thread owns its cache, the rewriter is shared.
  auto cfg = load();
  TenantRewriter tr(*cfg, cfg->tenants.at(0));
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i)
    texts.push_back("UPDATE orders SET status = " + std::string(i % 2 ? "'Created'" : "$1") + " WHERE id = " +
                    std::to_string(i));
  std::vector<std::string> expected;
  DecisionCache reference;
  for (const auto& t : texts) expected.push_back(tr.decide(reference, t, config::Phase::DualWrite, true)->sql);

  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w)
    threads.emplace_back([&, w] {
      DecisionCache mine;
      for (int round = 0; round < 50; ++round)
        for (size_t i = 0; i < texts.size(); ++i) {
          auto d = tr.decide(mine, texts[i], config::Phase::DualWrite, true);
          // The shared, locked path runs alongside until every caller passes a cache.
          auto s = tr.decide(texts[i], config::Phase::DualWrite, true);
          if (!d || !s || d->sql != expected[i] || s->sql != expected[i]) ++mismatches[w];
        }
    });
  for (auto& t : threads) t.join();
  for (int w = 0; w < kThreads; ++w) EXPECT_EQ(mismatches[w], 0) << "worker " << w;
}
