#pragma once
// The guard of one tenant: a sliding window of shadow compares (the last
// `window` of time, at most `max_samples` of them) and the state the
// mismatch rate puts the tenant in. Socket-free and clock-free: the caller
// passes the time, so the tests replay hours in microseconds.
//
//   Ok ──rate > warn──▶ Warn ──lower bound > critical──▶ Tripped (held)
//
// Nothing fires before `min_samples` compares are in the window. A trip
// needs statistical confidence, not a point estimate: the lower bound of the
// Wilson score interval (95 %) of the mismatch rate must exceed
// `critical_mismatch_rate`, so one unlucky minute on few samples does not
// roll a tenant back. Once tripped the guard stays tripped until an operator
// clears it (a PATCH of the tenant); what the trip does (rollback or freeze)
// is the caller's, through the same typed flag path as a PATCH.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "config/config.h"

namespace sy::shadow {

enum class GuardState : int { Ok = 0, Warn = 1, Tripped = 2 };

const char* to_string(GuardState s);

struct GuardWindow {
  std::chrono::seconds window{600};
  uint32_t max_samples = 10000;
};

class Guard {
 public:
  using Clock = std::chrono::steady_clock;

  Guard(const config::Guard& settings, GuardWindow window = {});

  //! Records one compare. Returns the new state when this compare changed it.
  std::optional<GuardState> record(bool mismatch, Clock::time_point now);

  //! New thresholds (a reload or PATCH); the window and a trip are kept.
  void configure(const config::Guard& settings) { settings_ = settings; }

  //! An operator acted on the tenant: the trip is released, the window restarts.
  void clear();

  GuardState state() const { return state_; }
  uint64_t samples() const { return events_.size(); }
  uint64_t mismatches() const { return mismatches_; }
  double rate() const { return events_.empty() ? 0 : static_cast<double>(mismatches_) / events_.size(); }

  //! Lower bound of the Wilson score interval for k successes in n trials.
  static double wilson_lower(uint64_t k, uint64_t n, double z = 1.96);

 private:
  void expire(Clock::time_point now);

  config::Guard settings_;
  GuardWindow window_;
  struct Event {
    Clock::time_point at;
    bool mismatch;
  };
  std::deque<Event> events_;
  uint64_t mismatches_ = 0;
  GuardState state_ = GuardState::Ok;
};

}  // namespace sy::shadow
