#pragma once
// Every tenant's guard, for the shadow completions of all workers. A tenant's
// guard has a mutex of its own, taken only when one of its compares completes
// (never on a client's statement path); the board's mutex is taken only to
// find a tenant's guard the first time a worker needs it (workers keep the
// pointer) and by the admin side.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "proxy/shadow/guard.h"

namespace sy::shadow {

//! What record() did to a tenant's guard.
struct GuardUpdate {
  std::optional<GuardState> changed;  //!< the new state, when this compare changed it
  uint64_t samples = 0, mismatches = 0;
  double rate = 0, lower_bound = 0;  //!< the window's rate and its Wilson lower bound
};

class TenantGuard {
 public:
  explicit TenantGuard(const config::Guard& settings) : guard_(settings) {}
  //! One compare of the tenant, under the tenant's current settings.
  GuardUpdate record(bool mismatch, const config::Guard& settings, Guard::Clock::time_point now);
  void clear();
  GuardState state() const;

 private:
  mutable std::mutex mu_;
  Guard guard_;
};

class GuardBoard {
 public:
  std::shared_ptr<TenantGuard> guard(const std::string& tenant, const config::Guard& settings);
  //! An operator acted on the tenant: a trip is released, the window restarts.
  //! False when the tenant has no guard yet.
  bool clear(const std::string& tenant);
  std::optional<GuardState> state(const std::string& tenant) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<TenantGuard>> guards_;
};

}  // namespace sy::shadow
