// The guard: nothing before min_samples, warn on the point estimate, trip on
// confidence, hold until cleared, forget what left the window.
#include "proxy/shadow/guard.h"

#include <gtest/gtest.h>

using namespace sy::shadow;
using namespace std::chrono_literals;

namespace {

sy::config::Guard settings() {
  sy::config::Guard g;
  g.warn_mismatch_rate = 0.01;
  g.critical_mismatch_rate = 0.03;
  g.min_samples = 200;
  return g;
}

TEST(Guard, NothingFiresBeforeMinSamples) {
  Guard g(settings());
  auto t = Guard::Clock::time_point{};
  for (int i = 0; i < 199; ++i) EXPECT_FALSE(g.record(true, t + i * 1ms).has_value());
  EXPECT_EQ(g.state(), GuardState::Ok);
  EXPECT_EQ(g.record(true, t + 1s), GuardState::Tripped);
}

TEST(Guard, WarnsAboveTheWarnRateAndTripsOnlyWithConfidence) {
  Guard g(settings());
  auto t = Guard::Clock::time_point{};
  // 2 % of 1000: above warn, below critical.
  for (int i = 0; i < 1000; ++i) g.record(i % 50 == 0, t + i * 1ms);
  EXPECT_EQ(g.state(), GuardState::Warn);
  // 4 % on 200 samples: the point estimate is above 3 %, the lower bound is not.
  Guard h(settings());
  for (int i = 0; i < 200; ++i) h.record(i % 25 == 0, t + i * 1ms);
  EXPECT_NEAR(h.rate(), 0.04, 1e-9);
  EXPECT_NE(h.state(), GuardState::Tripped);
  // 6 % on 2000 samples: it is.
  Guard k(settings());
  for (int i = 0; i < 2000; ++i) k.record(i % 50 < 3, t + i * 1ms);
  EXPECT_EQ(k.state(), GuardState::Tripped);
}

TEST(Guard, ATripIsHeldUntilCleared) {
  Guard g(settings());
  auto t = Guard::Clock::time_point{};
  for (int i = 0; i < 300; ++i) g.record(true, t + i * 1ms);
  ASSERT_EQ(g.state(), GuardState::Tripped);
  for (int i = 0; i < 5000; ++i) EXPECT_FALSE(g.record(false, t + 1s + i * 1ms).has_value());
  EXPECT_EQ(g.state(), GuardState::Tripped);
  g.clear();
  EXPECT_EQ(g.state(), GuardState::Ok);
  EXPECT_EQ(g.samples(), 0u);
}

TEST(Guard, OldComparesLeaveTheWindow) {
  Guard g(settings(), GuardWindow{60s, 10000});
  auto t = Guard::Clock::time_point{};
  for (int i = 0; i < 300; ++i) g.record(i % 40 == 0, t + i * 1ms);  // 2.5 %: warn
  ASSERT_EQ(g.state(), GuardState::Warn);
  // Ten minutes later the old mismatches are gone; clean compares bring it back to ok.
  for (int i = 0; i < 300; ++i) g.record(false, t + 600s + i * 1ms);
  EXPECT_EQ(g.samples(), 300u);
  EXPECT_EQ(g.state(), GuardState::Ok);
  // The count bound as well.
  Guard c(settings(), GuardWindow{3600s, 500});
  for (int i = 0; i < 2000; ++i) c.record(false, t + i * 1ms);
  EXPECT_EQ(c.samples(), 500u);
}

TEST(Guard, WilsonLowerBound) {
  EXPECT_DOUBLE_EQ(Guard::wilson_lower(0, 0), 0);
  EXPECT_NEAR(Guard::wilson_lower(50, 100), 0.4038, 1e-3);
  EXPECT_NEAR(Guard::wilson_lower(1, 1000), 0.000177, 1e-5);
}

}  // namespace
