#pragma once
// What one worker knows about each statement fingerprint it has shadowed:
// how often it ran (for sampling), how often its served form was run twice
// to see whether it answers itself consistently, and whether it does not
// (noise). One per worker thread, so the per-statement path takes no lock
// and writes no memory another thread reads; the price is that each worker
// learns a fingerprint's noise on its own.
//
// Sampling is per fingerprint and deterministic: the first kAlwaysFirst
// executions of a fingerprint are always sampled (rare shapes are covered),
// then executions are picked evenly at `percent`: the n-th (from 0) is
// sampled when floor((n+1)·p) > floor(n·p), p in basis points / 10 000.
// No random numbers, so a test at 100 % samples everything and at 10 %
// exactly one in ten after the first few.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sy::shadow {

class FingerprintBook {
 public:
  static constexpr uint32_t kAlwaysFirst = 3;
  //! Samples whose served form runs twice in the same snapshot.
  static constexpr uint32_t kSelfChecks = 3;
  //! More self-checks, one per sample that mismatched, up to this many: a
  //! volatile query that happened to agree with itself at first is still
  //! caught before its differences count.
  static constexpr uint32_t kMaxSelfChecks = 10;
  //! The book is cleared when it holds this many fingerprints (ORMs produce a
  //! bounded set; more means something unusual, and clearing costs nothing).
  static constexpr size_t kMaxFingerprints = 16384;

  //! Counts one execution of `fingerprint` (keyed with the tenant); true when
  //! it is to be shadowed. `percent` 0 samples nothing.
  bool sample(std::string_view tenant, std::string_view fingerprint, double percent);

  //! Whether the next shadow of this fingerprint should run the served form twice.
  bool wants_self_check(std::string_view tenant, std::string_view fingerprint) const;
  //! Whether a mismatching sample may be re-run with a self-check before it counts.
  bool may_recheck(std::string_view tenant, std::string_view fingerprint) const;
  //! Records a self-check; `differed`: the form disagreed with itself, so the
  //! fingerprint is noise from now on.
  void self_checked(std::string_view tenant, std::string_view fingerprint, bool differed);
  bool noisy(std::string_view tenant, std::string_view fingerprint) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t executions = 0;
    uint32_t self_checks = 0;
    bool noisy = false;
  };
  static std::string key(std::string_view tenant, std::string_view fingerprint);
  const Entry* find(std::string_view tenant, std::string_view fingerprint) const;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace sy::shadow
