#pragma once
// A Prometheus histogram that every worker thread observes into without a
// lock and, mostly, without sharing a cache line with another worker: the
// counts live in shards picked by thread, summed only when rendered.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace sy::proxy {

using Counter = std::atomic<uint64_t>;

//! A double as the exposition format writes it (round-trips exactly).
std::string prometheus_double(double d);

class Histogram {
 public:
  //! Enough for the proxy's histograms; the constructor refuses more.
  static constexpr size_t kMaxBounds = 15;
  //! More shards than workers usually run, so two threads rarely collide;
  //! when they do, the counts are still exact (atomics), only slower.
  static constexpr size_t kShards = 16;

  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  void render(std::string& out, const std::string& name) const;

 private:
  struct alignas(64) Shard {
    std::array<Counter, kMaxBounds + 1> buckets{};  //!< one per bound, plus +Inf
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sy::proxy
