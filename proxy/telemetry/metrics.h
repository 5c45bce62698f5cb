#pragma once
// Process-wide counters with SPEC.md's names (prefix switchyard_). Declared in
// one place; sessions resolve the counters they need once (at login, as a
// TenantStats) and then only do relaxed atomic increments on the hot path.
// The registry's mutex guards only creating series and reading them all.
#include <atomic>
#include <memory>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/telemetry/histogram.h"

namespace sy::proxy {

class TenantStats;

class Metrics {
 public:
  Metrics();

  //! A labelled counter of one family, created on first use; the pointer
  //! stays valid for the life of the registry.
  Counter& counter(const std::string& family, const std::vector<std::pair<std::string, std::string>>& labels);
  //! A labelled gauge (same storage; rendered with TYPE gauge).
  Counter& gauge(const std::string& family, const std::vector<std::pair<std::string, std::string>>& labels) {
    return counter(family, labels);
  }

  //! A labelled gauge holding a non-integer value (e.g. a percentage).
  std::atomic<double>& value(const std::string& family, const std::vector<std::pair<std::string, std::string>>& labels);

  struct Sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value;
    std::string label(const std::string& key) const {
      for (const auto& [k, v] : labels)
        if (k == key) return v;
      return {};
    }
  };
  //! The counters of one tenant's sessions, for a tenant whose config names
  //! `migrations`. Shared by the tenant's sessions while its migrations stay
  //! the same; a session asks again when the tenant directory changes.
  std::shared_ptr<const TenantStats> tenant_stats(const std::string& tenant, const std::vector<std::string>& migrations);

  //! Current values of one family's series (for the status page).
  std::vector<Sample> snapshot(const std::string& family) const;

  Histogram& rewrite_duration() { return rewrite_duration_; }
  Histogram& statement_overhead() { return statement_overhead_; }
  Histogram& shadow_duration() { return shadow_duration_; }

  //! Prometheus text exposition format.
  std::string render() const;

 private:
  struct Family {
    std::string type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> series;  //!< by rendered label set
    std::map<std::string, std::unique_ptr<std::atomic<double>>> values;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> label_sets;
  };
  static std::string label_key(const std::vector<std::pair<std::string, std::string>>& labels);
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<std::string, std::shared_ptr<const TenantStats>> tenant_stats_;  //!< by tenant name
  Histogram rewrite_duration_;
  Histogram statement_overhead_;
  Histogram shadow_duration_;
};

}  // namespace sy::proxy
