#include "proxy/shadow/guard_board.h"

namespace sy::shadow {

GuardUpdate TenantGuard::record(bool mismatch, const config::Guard& settings, Guard::Clock::time_point now) {
  std::lock_guard lock(mu_);
  guard_.configure(settings);
  GuardUpdate u;
  u.changed = guard_.record(mismatch, now);
  u.samples = guard_.samples();
  u.mismatches = guard_.mismatches();
  u.rate = guard_.rate();
  u.lower_bound = Guard::wilson_lower(u.mismatches, u.samples);
  return u;
}

void TenantGuard::clear() {
  std::lock_guard lock(mu_);
  guard_.clear();
}

GuardState TenantGuard::state() const {
  std::lock_guard lock(mu_);
  return guard_.state();
}

std::shared_ptr<TenantGuard> GuardBoard::guard(const std::string& tenant, const config::Guard& settings) {
  std::lock_guard lock(mu_);
  auto& g = guards_[tenant];
  if (!g) g = std::make_shared<TenantGuard>(settings);
  return g;
}

bool GuardBoard::clear(const std::string& tenant) {
  std::shared_ptr<TenantGuard> g;
  {
    std::lock_guard lock(mu_);
    auto it = guards_.find(tenant);
    if (it == guards_.end()) return false;
    g = it->second;
  }
  g->clear();
  return true;
}

std::optional<GuardState> GuardBoard::state(const std::string& tenant) const {
  std::shared_ptr<TenantGuard> g;
  {
    std::lock_guard lock(mu_);
    auto it = guards_.find(tenant);
    if (it == guards_.end()) return std::nullopt;
    g = it->second;
  }
  return g->state();
}

}  // namespace sy::shadow
