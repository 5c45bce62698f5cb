#pragma once
// Per-tenant rates for the status page: once a second the sampler reads the
// statement counters and keeps the last 11 totals, so the page can show
// statements per second over the last ten seconds without touching the hot path.
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace sy::proxy {

class Metrics;

class StatsSampler {
 public:
  explicit StatsSampler(const Metrics& metrics) : metrics_(metrics) {}
  void sample();  //!< call about once a second
  //! Statements per second over the sampled window, by tenant.
  std::map<std::string, double> statements_per_second() const;

 private:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    std::map<std::string, uint64_t> totals;
  };
  const Metrics& metrics_;
  mutable std::mutex mu_;
  std::deque<Sample> samples_;
};

}  // namespace sy::proxy
