#include "proxy/flags/canary.h"

#include <cmath>
#include <cstring>
#include <string>

namespace sy::proxy {

namespace {
inline uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
}  // namespace

uint32_t murmur3_32(std::string_view data, uint32_t seed) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t len = data.size();
  const size_t nblocks = len / 4;
  const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  uint32_t h = seed;
  for (size_t i = 0; i < nblocks; ++i) {
    uint32_t k;
    std::memcpy(&k, p + i * 4, 4);  // little-endian, as the reference on x86
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const uint8_t* tail = p + nblocks * 4;
  uint32_t k = 0;
  switch (len & 3) {
    case 3: k ^= uint32_t(tail[2]) << 16; [[fallthrough]];
    case 2: k ^= uint32_t(tail[1]) << 8; [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

uint32_t canary_bucket(std::string_view tenant, std::string_view key) {
  std::string input;
  input.reserve(tenant.size() + key.size() + 1);
  input.append(tenant).push_back(':');
  input.append(key);
  return murmur3_32(input) % kCanaryBuckets;
}

bool in_canary(uint32_t bucket, double percent) {
  auto threshold = static_cast<uint32_t>(std::llround(percent * 100.0));
  return bucket < threshold;
}

}  // namespace sy::proxy
