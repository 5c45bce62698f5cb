// The per-fingerprint latency report and the per-minute mismatch history:
// socket-free, clock-free (the tests pass the time).
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "proxy/shadow/latency_book.h"
#include "proxy/shadow/rate_history.h"

using namespace sy::shadow;
using namespace std::chrono_literals;

TEST(LatencyHistogram, QuantilesAreWithinABucketOfTheTruth) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.5), 0);
  std::mt19937 rng(5);
  std::vector<uint64_t> all;
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = 50 + rng() % 5000;
    all.push_back(v);
    h.add(v);
  }
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.99}) {
    double truth = static_cast<double>(all[static_cast<size_t>(q * all.size()) - 1]);
    double got = h.quantile(q);
    EXPECT_NEAR(got / truth, 1.0, 0.15) << q;
  }
  EXPECT_EQ(h.count(), 10000u);
}

TEST(LatencyHistogram, BucketsCoverEveryDurationInOrder) {
  for (uint64_t v : {0ull, 1ull, 2ull, 3ull, 7ull, 100ull, 1000ull, 123456ull}) {
    int b = LatencyHistogram::bucket(v);
    EXPECT_LE(LatencyHistogram::lower(b), std::max<double>(static_cast<double>(v), 1)) << v;
    EXPECT_GT(LatencyHistogram::upper(b), static_cast<double>(v)) << v;
  }
  for (uint64_t v = 1; v < 100000; v = v * 3 / 2 + 1)
    EXPECT_LE(LatencyHistogram::bucket(v), LatencyHistogram::bucket(v + 1));
  // Longer than the last power: the last bucket, not past the end.
  EXPECT_EQ(LatencyHistogram::bucket(~0ull), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyBook, ASwitchedFormTwiceAsSlowIsReportedAfterEnoughSamples) {
  LatencyBook book;
  auto t0 = LatencyBook::Clock::time_point{} + 1h;
  int claims = 0;
  for (uint64_t i = 0; i < LatencyBook::kMinSamples - 1; ++i)
    claims += book.record("acme", "fp1", "SELECT 1", "SELECT 1u", 100, 1000, t0);
  EXPECT_EQ(claims, 0);  // too few samples
  EXPECT_TRUE(book.slow().empty());
  // The kMinSamples-th claims the EXPLAIN turn; the next ones do not.
  EXPECT_TRUE(book.record("acme", "fp1", "SELECT 1", "SELECT 1u", 100, 1000, t0));
  EXPECT_FALSE(book.record("acme", "fp1", "SELECT 1", "SELECT 1u", 100, 1000, t0 + 1min));
  EXPECT_FALSE(book.record("acme", "fp1", "SELECT 1", "SELECT 1u", 100, 1000, t0 + 14min));
  // A similar fingerprint, only 1.5× slower: never slow.
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(book.record("acme", "fp2", "SELECT 2", "SELECT 2u", 100, 150, t0));
  auto slow = book.slow();
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].fingerprint, "fp1");
  EXPECT_NEAR(slow[0].ratio, 10, 2);
  EXPECT_TRUE(slow[0].legacy_plan.empty());
  book.explained("acme", "fp1", "Index Scan", "Seq Scan", "2024-01-01T00:00:00.000Z");
  slow = book.slow("acme");
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].legacy_plan, "Index Scan");
  EXPECT_EQ(slow[0].switched_plan, "Seq Scan");
  EXPECT_TRUE(book.slow("other").empty());
  // Fifteen minutes after the last claim, the plans are taken again.
  EXPECT_TRUE(book.record("acme", "fp1", "SELECT 1", "SELECT 1u", 100, 1000, t0 + 15min));
  auto json = book.json();
  EXPECT_NE(json.find("\"fingerprint\":\"fp1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"switched_explain\":\"Seq Scan\""), std::string::npos) << json;
  EXPECT_EQ(json.find("fp2"), std::string::npos) << json;
}

TEST(LatencyBook, TracksABoundedNumberOfFingerprints) {
  LatencyBook book;
  auto t0 = LatencyBook::Clock::time_point{};
  for (size_t i = 0; i < LatencyBook::kMaxFingerprints + 50; ++i)
    book.record("acme", "fp" + std::to_string(i), "s", "u", 10, 10, t0);
  EXPECT_EQ(book.tracked(), LatencyBook::kMaxFingerprints);
  EXPECT_NE(book.json().find("\"untracked\":50"), std::string::npos);
  // One already tracked keeps counting.
  for (uint64_t i = 0; i < LatencyBook::kMinSamples; ++i) book.record("acme", "fp0", "s", "u", 10, 100, t0);
  EXPECT_EQ(book.slow().size(), 1u);
}

TEST(RateHistory, CountsPerMinuteForTheLastHour) {
  RateHistory h;
  auto t0 = RateHistory::Clock::time_point{} + 1000min;
  EXPECT_EQ(h.series("acme", t0).size(), RateHistory::kMinutes);
  for (int i = 0; i < 10; ++i) h.record("acme", i < 3, t0);
  h.record("acme", true, t0 + 5min);
  h.record("other", true, t0 + 5min);
  auto s = h.series("acme", t0 + 5min);
  ASSERT_EQ(s.size(), RateHistory::kMinutes);
  EXPECT_EQ(s.back().compared, 1u);
  EXPECT_EQ(s.back().mismatched, 1u);
  EXPECT_EQ(s[RateHistory::kMinutes - 6].compared, 10u);
  EXPECT_EQ(s[RateHistory::kMinutes - 6].mismatched, 3u);
  uint64_t total = 0;
  for (const auto& m : s) total += m.compared;
  EXPECT_EQ(total, 11u);
  // An hour on, the first minute has left the window; its slot, reused, reads afresh.
  s = h.series("acme", t0 + 60min);
  total = 0;
  for (const auto& m : s) total += m.compared;
  EXPECT_EQ(total, 1u);
  h.record("acme", false, t0 + 60min);  // the same slot as t0
  s = h.series("acme", t0 + 60min);
  EXPECT_EQ(s.back().compared, 1u);
  EXPECT_EQ(s.back().mismatched, 0u);
  EXPECT_EQ(h.series("nobody", t0)[0].compared, 0u);
}
