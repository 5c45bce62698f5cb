#include "proxy/flags/canary.h"

#include <gtest/gtest.h>

#include <string>

using namespace sy::proxy;

// Published vectors of MurmurHash3 x86_32 (seed 0 unless given), so any other
// implementation (Unleash, flagd, Python's mmh3) can be checked against ours.
TEST(Canary, Murmur3ReferenceVectors) {
  EXPECT_EQ(murmur3_32(""), 0u);
  EXPECT_EQ(murmur3_32("", 1), 0x514E28B7u);
  EXPECT_EQ(murmur3_32("", 0xffffffff), 0x81F16F39u);
  EXPECT_EQ(murmur3_32("test"), 0xBA6BD213u);
  EXPECT_EQ(murmur3_32("Hello, world!"), 0xC0363E43u);
  EXPECT_EQ(murmur3_32("The quick brown fox jumps over the lazy dog"), 0x2E4FF723u);
  EXPECT_EQ(murmur3_32("abc"), 0xB3DD93FAu);
}

// The bucket vectors documented in the README.
TEST(Canary, BucketVectors) {
  EXPECT_EQ(canary_bucket("acme", "user-1"), murmur3_32("acme:user-1") % 10000);
  EXPECT_EQ(canary_bucket("acme", "127.0.0.1"), murmur3_32("acme:127.0.0.1") % 10000);
  EXPECT_EQ(canary_bucket("acme", "user-1"), 6473u);
  EXPECT_EQ(canary_bucket("acme", "10.0.0.7"), 2797u);
  EXPECT_EQ(canary_bucket("acme", "billing-worker"), 9212u);
}

TEST(Canary, RaisingThePercentageKeepsEveryKeyIn) {
  for (int i = 0; i < 5000; ++i) {
    auto b = canary_bucket("acme", "session-" + std::to_string(i));
    EXPECT_TRUE(!in_canary(b, 10) || in_canary(b, 20));
    EXPECT_TRUE(!in_canary(b, 0.01) || in_canary(b, 0.02));
  }
}

TEST(Canary, ShareMatchesThePercentage) {
  int in = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) in += in_canary(canary_bucket("acme", "k" + std::to_string(i)), 30);
  EXPECT_NEAR(double(in) / n, 0.30, 0.015);
  EXPECT_FALSE(in_canary(0, 0));
  EXPECT_TRUE(in_canary(9999, 100));
  EXPECT_TRUE(in_canary(0, 0.01));
  EXPECT_FALSE(in_canary(1, 0.01));
}
