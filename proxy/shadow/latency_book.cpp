#include "proxy/shadow/latency_book.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "proxy/telemetry/json_writer.h"

namespace sy::shadow {

int LatencyHistogram::bucket(uint64_t micros) {
  if (micros < 1) micros = 1;
  // The power of two, then kSubBuckets linear steps within it.
  int power = std::bit_width(micros) - 1;
  if (power >= kPowers) return kBuckets - 1;
  uint64_t base = uint64_t{1} << power;
  int sub = static_cast<int>((micros - base) * kSubBuckets / base);  // below 4 µs some buckets stay empty
  return power * kSubBuckets + sub;
}

double LatencyHistogram::lower(int b) {
  int power = b / kSubBuckets, sub = b % kSubBuckets;
  double base = std::ldexp(1.0, power);
  return base + base * sub / kSubBuckets;
}

double LatencyHistogram::upper(int b) {
  int power = b / kSubBuckets, sub = b % kSubBuckets;
  double base = std::ldexp(1.0, power);
  return base + base * (sub + 1) / kSubBuckets;
}

void LatencyHistogram::add(uint64_t micros) {
  ++counts_[static_cast<size_t>(bucket(micros))];
  ++count_;
}

double LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  // The rank of the quantile, 1-based: the ceil(q·n)-th smallest sample.
  auto rank = static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen >= rank) return (lower(b) + upper(b)) / 2;
  }
  return (lower(kBuckets - 1) + upper(kBuckets - 1)) / 2;
}

bool LatencyBook::is_slow(const Entry& e) {
  if (e.switched.count() < kMinSamples) return false;
  double legacy = e.legacy.quantile(0.5);
  return legacy > 0 && e.switched.quantile(0.5) >= kSlowRatio * legacy;
}

bool LatencyBook::record(const std::string& tenant, const std::string& fingerprint, const std::string& sql,
                         const std::string& switched_sql, uint64_t legacy_micros, uint64_t switched_micros,
                         Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(tenant, fingerprint);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxFingerprints) {
      ++untracked_;
      return false;
    }
    it = entries_.emplace(std::move(key), Entry{}).first;
    it->second.sql = sql;
    it->second.switched_sql = switched_sql;
  }
  auto& e = it->second;
  e.legacy.add(legacy_micros);
  e.switched.add(switched_micros);
  if (!is_slow(e)) return false;
  if (e.explain_claimed && now - *e.explain_claimed < kExplainEvery) return false;
  e.explain_claimed = now;
  // The plans are taken for this statement's text: keep the two together.
  e.sql = sql;
  e.switched_sql = switched_sql;
  return true;
}

void LatencyBook::explained(const std::string& tenant, const std::string& fingerprint, std::string legacy_plan,
                            std::string switched_plan, std::string at) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({tenant, fingerprint});
  if (it == entries_.end()) return;
  it->second.legacy_plan = std::move(legacy_plan);
  it->second.switched_plan = std::move(switched_plan);
  it->second.explained_at = std::move(at);
}

SlowRead LatencyBook::report(const std::string& tenant, const std::string& fingerprint, const Entry& e) {
  SlowRead r;
  r.tenant = tenant;
  r.fingerprint = fingerprint;
  r.sql = e.sql;
  r.switched_sql = e.switched_sql;
  r.samples = e.switched.count();
  r.legacy_p50 = e.legacy.quantile(0.5);
  r.legacy_p99 = e.legacy.quantile(0.99);
  r.switched_p50 = e.switched.quantile(0.5);
  r.switched_p99 = e.switched.quantile(0.99);
  r.ratio = r.legacy_p50 > 0 ? r.switched_p50 / r.legacy_p50 : 0;
  r.legacy_plan = e.legacy_plan;
  r.switched_plan = e.switched_plan;
  r.explained_at = e.explained_at;
  return r;
}

std::vector<SlowRead> LatencyBook::slow(const std::string& tenant) const {
  std::vector<SlowRead> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, e] : entries_)
      if ((tenant.empty() || key.first == tenant) && is_slow(e)) out.push_back(report(key.first, key.second, e));
  }
  std::sort(out.begin(), out.end(), [](const SlowRead& a, const SlowRead& b) { return a.ratio > b.ratio; });
  return out;
}

size_t LatencyBook::tracked() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::string LatencyBook::json(const std::string& tenant) const {
  auto reads = slow(tenant);
  uint64_t untracked;
  size_t tracked_now;
  {
    std::lock_guard lock(mu_);
    untracked = untracked_;
    tracked_now = entries_.size();
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  auto micros = [&](std::string_view k, double v) {
    json::key(w, k);
    w.Double(std::round(v * 10) / 10);
  };
  w.StartObject();
  json::key(w, "slow_reads");
  w.StartArray();
  for (const auto& r : reads) {
    w.StartObject();
    json::member(w, "tenant", r.tenant);
    json::member(w, "fingerprint", r.fingerprint);
    json::member(w, "sql", r.sql);
    json::member(w, "switched_sql", r.switched_sql);
    json::member(w, "samples", r.samples);
    micros("legacy_p50_us", r.legacy_p50);
    micros("legacy_p99_us", r.legacy_p99);
    micros("switched_p50_us", r.switched_p50);
    micros("switched_p99_us", r.switched_p99);
    json::key(w, "ratio");
    w.Double(std::round(r.ratio * 100) / 100);
    json::member(w, "legacy_explain", r.legacy_plan);
    json::member(w, "switched_explain", r.switched_plan);
    json::member(w, "explained_at", r.explained_at);
    w.EndObject();
  }
  w.EndArray();
  json::member(w, "tracked", static_cast<uint64_t>(tracked_now));
  json::member(w, "untracked", untracked);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace sy::shadow
