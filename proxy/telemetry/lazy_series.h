#pragma once
// One labelled counter series, resolved through the registry on its first
// use and held from then on: later adds take no lock and build no label
// string. Resolving late (not when the handle is made) keeps /metrics as it
// was: a series is listed once something counted in it.
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "proxy/telemetry/histogram.h"

namespace sy::proxy {

class Metrics;

class LazySeries {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  LazySeries(Metrics& metrics, std::string family, Labels labels)
      : metrics_(metrics), family_(std::move(family)), labels_(std::move(labels)) {}
  LazySeries(const LazySeries&) = delete;
  LazySeries& operator=(const LazySeries&) = delete;

  Counter& get() const;
  void add(uint64_t n = 1) const { get().fetch_add(n, std::memory_order_relaxed); }

 private:
  Metrics& metrics_;
  std::string family_;
  Labels labels_;
  //! Two threads racing on the first use resolve the same series; either store is right.
  mutable std::atomic<Counter*> counter_{nullptr};
};

}  // namespace sy::proxy
