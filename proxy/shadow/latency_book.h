#pragma once
// How long both forms of a shadowed read take, per fingerprint, the way
// MaxScale's Diff router reports it: p50 and p99 of the legacy form and of
// the switched form. A switched form at least kSlowRatio× slower than the
// legacy one (on at least kMinSamples samples) is a slow read switch, found
// before the switch: typically the unified column has no index yet.
//
// Each form keeps a fixed log-scale histogram (kSubBuckets per power of two
// of microseconds, so a quantile is within ±10 % of the truth), not the
// samples: memory is bounded per fingerprint, and at most kMaxFingerprints
// fingerprints are tracked (later ones are counted as untracked, not
// evicting ones already seen; ORMs produce a bounded set).
//
// EXPLAIN of both forms is taken at most once per fingerprint per
// kExplainEvery: record() claims the turn (so only one lane of one worker
// runs it) and explained() stores the plans. Socket-free and clock-free: the
// caller passes the time. Shared by every worker behind one mutex, taken once
// per completed shadow, never on a client's statement path.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sy::shadow {

//! A fixed log-scale histogram of durations in microseconds.
class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 4;
  static constexpr int kPowers = 28;  //!< up to 2^28 µs ≈ 4.5 min; longer lands in the last bucket
  static constexpr int kBuckets = kSubBuckets * kPowers;

  void add(uint64_t micros);
  uint64_t count() const { return count_; }
  //! The q-quantile (0 < q ≤ 1) in µs: the middle of the bucket holding it; 0 when empty.
  double quantile(double q) const;

  //! The bucket of a duration, and a bucket's bounds [lower, upper) in µs.
  static int bucket(uint64_t micros);
  static double lower(int bucket);
  static double upper(int bucket);

 private:
  std::array<uint32_t, kBuckets> counts_{};
  uint64_t count_ = 0;
};

struct SlowRead {
  std::string tenant;
  std::string fingerprint;
  std::string sql;           //!< the legacy form as the client sent it
  std::string switched_sql;  //!< the switched form
  uint64_t samples = 0;
  double legacy_p50 = 0, legacy_p99 = 0, switched_p50 = 0, switched_p99 = 0;  //!< µs
  double ratio = 0;  //!< switched p50 / legacy p50
  std::string legacy_plan, switched_plan;  //!< EXPLAIN texts; empty until taken
  std::string explained_at;                //!< UTC, when the plans were taken
};

class LatencyBook {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxFingerprints = 1000;
  static constexpr uint64_t kMinSamples = 20;
  static constexpr double kSlowRatio = 2.0;
  static constexpr std::chrono::minutes kExplainEvery{15};

  //! One shadow's timings. True when this caller is to take EXPLAIN of both
  //! forms now (the fingerprint is slow and its last EXPLAIN is older than
  //! kExplainEvery, or there is none); the turn is claimed for it.
  bool record(const std::string& tenant, const std::string& fingerprint, const std::string& sql,
              const std::string& switched_sql, uint64_t legacy_micros, uint64_t switched_micros, Clock::time_point now);
  //! The plans a claimed turn took (`at` as UTC text).
  void explained(const std::string& tenant, const std::string& fingerprint, std::string legacy_plan,
                 std::string switched_plan, std::string at);

  //! Fingerprints that are slow now, slowest first; `tenant` filters when not empty.
  std::vector<SlowRead> slow(const std::string& tenant = {}) const;
  //! {"slow_reads": [...], "tracked": N, "untracked": M}.
  std::string json(const std::string& tenant = {}) const;
  size_t tracked() const;

 private:
  struct Entry {
    std::string sql, switched_sql;
    LatencyHistogram legacy, switched;
    std::optional<Clock::time_point> explain_claimed;
    std::string legacy_plan, switched_plan, explained_at;
  };
  static bool is_slow(const Entry& e);
  static SlowRead report(const std::string& tenant, const std::string& fingerprint, const Entry& e);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;  //!< by (tenant, fingerprint)
  uint64_t untracked_ = 0;
};

}  // namespace sy::shadow
