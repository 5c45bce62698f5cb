#pragma once
// Each tenant's compares and mismatches per minute over the last hour, for
// the status page's chart. kMinutes slots per tenant, reused round-robin: a
// slot holds the minute it counts, so a stale slot reads as zero. Socket-
// and clock-free (the caller passes the time); one mutex, taken once per
// completed compare and by the status page.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sy::shadow {

struct MinuteCounts {
  uint64_t compared = 0, mismatched = 0;
};

class RateHistory {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMinutes = 60;

  void record(const std::string& tenant, bool mismatch, Clock::time_point now);
  //! The last kMinutes minutes up to `now`, oldest first (the last is the current minute).
  std::vector<MinuteCounts> series(const std::string& tenant, Clock::time_point now) const;

 private:
  struct Slot {
    int64_t minute = -1;
    MinuteCounts counts;
  };
  static int64_t minute_of(Clock::time_point t);
  mutable std::mutex mu_;
  std::map<std::string, std::array<Slot, kMinutes>> tenants_;
};

}  // namespace sy::shadow
