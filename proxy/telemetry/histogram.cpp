#include "proxy/telemetry/histogram.h"

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <thread>

namespace sy::proxy {

std::string prometheus_double(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (bounds_.size() > kMaxBounds) throw std::invalid_argument("histogram: too many bounds");
}

void Histogram::observe(double v) {
  // The thread's own shard: no lock, and no cache line bounced between
  // workers on every statement.
  auto& shard = shards_[std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards];
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  shard.buckets[i].fetch_add(1, std::memory_order_relaxed);
  double cur = shard.sum.load(std::memory_order_relaxed);
  while (!shard.sum.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Histogram::render(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  double sum = 0;
  for (const auto& s : shards_) sum += s.sum.load(std::memory_order_relaxed);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    for (const auto& s : shards_) cumulative += s.buckets[i].load(std::memory_order_relaxed);
    out += name + "_bucket{le=\"" + (i < bounds_.size() ? prometheus_double(bounds_[i]) : "+Inf") + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + prometheus_double(sum) + "\n";
  // The count is the +Inf bucket, so the two always agree in one scrape.
  out += name + "_count " + std::to_string(cumulative) + "\n";
}

}  // namespace sy::proxy
