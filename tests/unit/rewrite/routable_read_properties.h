#pragma once
// The two properties both dialects' routable-read checks must hold, over a
// generator that knows the truth (it records whether it put in an
// ingredient that must keep the statement on the primary):
//   - a statement is routable exactly when no such ingredient went in;
//   - a sequence of statements is routable only when every one is.
// A Generator has statement(), poisoned() and poison(); `check` takes the
// text and returns a RouteVerdict; `valid`, when given, asserts the text is
// well formed (PostgreSQL's parser), so no verdict rests on a syntax error.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "rewrite/common/route_verdict.h"

namespace sy::rewrite::test {

//! What both dialects' generators share: a seeded random source and the
//! record of the first ingredient that must keep a statement on the primary.
class TaintingGenerator {
 public:
  bool poisoned() const { return poisoned_; }
  const std::string& poison() const { return poison_; }

 protected:
  explicit TaintingGenerator(uint32_t seed) : rng_(seed) {}
  //! Before each statement.
  void clean() {
    poisoned_ = false;
    poison_.clear();
  }
  bool chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
  int roll() { return std::uniform_int_distribution<int>(0, 99)(rng_); }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  //! `what` goes into the statement and keeps it on the primary.
  std::string taint(std::string what) {
    poisoned_ = true;
    if (poison_.empty()) poison_ = what;
    return what;
  }

 private:
  std::mt19937 rng_;
  bool poisoned_ = false;
  std::string poison_;
};

template <class Generator, class Check>
void expect_routable_exactly_when_clean(Generator& gen, Check check, int cases,
                                        const std::function<void(const std::string&)>& valid = {}) {
  int clean = 0, kept = 0;
  for (int i = 0; i < cases; ++i) {
    std::string sql = gen.statement();
    if (valid) {
      valid(sql);
      if (::testing::Test::HasFatalFailure()) return;
    }
    RouteVerdict v = check(sql);
    ASSERT_EQ(v.routable(), !gen.poisoned()) << sql << "\n  poison: " << gen.poison() << "\n  verdict: "
                                             << v.keep_on_primary;
    (v.routable() ? clean : kept)++;
  }
  // Both kinds well represented: neither half of the property is vacuous.
  EXPECT_GT(clean, cases / 5);
  EXPECT_GT(kept, cases / 5);
}

template <class Generator, class Check>
void expect_sequence_routable_only_when_every_statement_is(Generator& gen, Check check, int cases) {
  for (int i = 0; i < cases; ++i) {
    std::string a = gen.statement();
    bool a_clean = !gen.poisoned();
    std::string b = gen.statement();
    bool b_clean = !gen.poisoned();
    ASSERT_EQ(check(a + "; " + b).routable(), a_clean && b_clean) << a << "; " << b;
  }
}

}  // namespace sy::rewrite::test
