#include "proxy/telemetry/lazy_series.h"

#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

Counter& LazySeries::get() const {
  if (Counter* c = counter_.load(std::memory_order_acquire)) return *c;
  Counter& c = metrics_.counter(family_, labels_);
  counter_.store(&c, std::memory_order_release);
  return c;
}

}  // namespace sy::proxy
