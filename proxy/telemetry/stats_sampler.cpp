#include "proxy/telemetry/stats_sampler.h"

#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

void StatsSampler::sample() {
  Sample s{std::chrono::steady_clock::now(), {}};
  for (const auto& series : metrics_.snapshot("statements_total"))
    s.totals[series.label("tenant")] += static_cast<uint64_t>(series.value);
  std::lock_guard lock(mu_);
  samples_.push_back(std::move(s));
  while (samples_.size() > 11) samples_.pop_front();
}

std::map<std::string, double> StatsSampler::statements_per_second() const {
  std::lock_guard lock(mu_);
  std::map<std::string, double> out;
  if (samples_.size() < 2) return out;
  const auto& first = samples_.front();
  const auto& last = samples_.back();
  double seconds = std::chrono::duration<double>(last.at - first.at).count();
  if (seconds <= 0) return out;
  for (const auto& [tenant, total] : last.totals) {
    auto it = first.totals.find(tenant);
    uint64_t before = it == first.totals.end() ? 0 : it->second;
    out[tenant] = double(total - before) / seconds;
  }
  return out;
}

}  // namespace sy::proxy
