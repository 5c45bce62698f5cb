#pragma once
// Deterministic canary bucketing. A sticky key lands in the same bucket on
// every sidecar and after every restart, because the bucket is a pure
// function of (tenant, key):
//
//   bucket = murmur3_x86_32("<tenant>:<key>", seed 0) mod 10000
//   in canary  <=>  bucket < round(percent * 100)
//
// (the scheme Unleash and flagd use). With 10 000 buckets, percentages take
// steps of 0.01, and raising the percentage only adds buckets, so a key that
// was in the canary stays in it.
#include <cstdint>
#include <string_view>

namespace sy::proxy {

inline constexpr uint32_t kCanaryBuckets = 10000;

//! MurmurHash3 x86_32 (Austin Appleby's reference algorithm).
uint32_t murmur3_32(std::string_view data, uint32_t seed = 0);

//! Bucket 0..9999 of `key` for `tenant`.
uint32_t canary_bucket(std::string_view tenant, std::string_view key);

//! True if `bucket` is inside a canary of `percent` (0..100).
bool in_canary(uint32_t bucket, double percent);

}  // namespace sy::proxy
