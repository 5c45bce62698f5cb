#include "proxy/shadow/guard.h"

#include <cmath>

namespace sy::shadow {

const char* to_string(GuardState s) {
  switch (s) {
    case GuardState::Ok: return "ok";
    case GuardState::Warn: return "warn";
    case GuardState::Tripped: return "tripped";
  }
  return "unknown";
}

Guard::Guard(const config::Guard& settings, GuardWindow window) : settings_(settings), window_(window) {}

double Guard::wilson_lower(uint64_t k, uint64_t n, double z) {
  if (n == 0) return 0;
  double p = static_cast<double>(k) / n, z2 = z * z, nn = static_cast<double>(n);
  double centre = p + z2 / (2 * nn);
  double spread = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return std::max(0.0, (centre - spread) / (1 + z2 / nn));
}

void Guard::expire(Clock::time_point now) {
  while (!events_.empty() &&
         (now - events_.front().at > window_.window || events_.size() > window_.max_samples)) {
    mismatches_ -= events_.front().mismatch ? 1 : 0;
    events_.pop_front();
  }
}

std::optional<GuardState> Guard::record(bool mismatch, Clock::time_point now) {
  events_.push_back({now, mismatch});
  mismatches_ += mismatch ? 1 : 0;
  expire(now);
  if (state_ == GuardState::Tripped) return std::nullopt;  // held until cleared
  GuardState next = GuardState::Ok;
  if (events_.size() >= settings_.min_samples) {
    if (wilson_lower(mismatches_, events_.size()) > settings_.critical_mismatch_rate) next = GuardState::Tripped;
    else if (rate() > settings_.warn_mismatch_rate) next = GuardState::Warn;
  } else if (state_ == GuardState::Warn) {
    next = GuardState::Warn;  // too few samples to say it is over: stay
  }
  if (next == state_) return std::nullopt;
  state_ = next;
  return state_;
}

void Guard::clear() {
  events_.clear();
  mismatches_ = 0;
  state_ = GuardState::Ok;
}

}  // namespace sy::shadow
