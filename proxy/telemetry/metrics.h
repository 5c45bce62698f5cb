#pragma once
// Process-wide counters with SPEC.md's names (prefix switchyard_). Declared in
// one place; sessions resolve the counters they need once (at login) and then
// only do relaxed atomic increments on the hot path.
#include <array>
#include <atomic>
#include <memory>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sy::proxy {

using Counter = std::atomic<uint64_t>;

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  void render(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<Counter[]> buckets_;  //!< one per bound, plus +Inf
  Counter count_{0};
  std::atomic<double> sum_{0};
};

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
  //! Current values of one family's series (for the status page).
  std::vector<Sample> snapshot(const std::string& family) const;

  Histogram& rewrite_duration() { return rewrite_duration_; }
  Histogram& statement_overhead() { return statement_overhead_; }

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
  Histogram rewrite_duration_;
  Histogram statement_overhead_;
};

}  // namespace sy::proxy
