#include "proxy/shadow/rate_history.h"

namespace sy::shadow {

int64_t RateHistory::minute_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::minutes>(t.time_since_epoch()).count();
}

void RateHistory::record(const std::string& tenant, bool mismatch, Clock::time_point now) {
  int64_t minute = minute_of(now);
  std::lock_guard lock(mu_);
  auto& slot = tenants_[tenant][static_cast<size_t>(minute) % kMinutes];
  if (slot.minute != minute) slot = Slot{minute, {}};
  ++slot.counts.compared;
  if (mismatch) ++slot.counts.mismatched;
}

std::vector<MinuteCounts> RateHistory::series(const std::string& tenant, Clock::time_point now) const {
  std::vector<MinuteCounts> out(kMinutes);
  int64_t current = minute_of(now);
  std::lock_guard lock(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return out;
  for (size_t i = 0; i < kMinutes; ++i) {
    int64_t minute = current - static_cast<int64_t>(kMinutes - 1 - i);
    if (minute < 0) continue;
    const auto& slot = it->second[static_cast<size_t>(minute) % kMinutes];
    if (slot.minute == minute) out[i] = slot.counts;
  }
  return out;
}

}  // namespace sy::shadow
