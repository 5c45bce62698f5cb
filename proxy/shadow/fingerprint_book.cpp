#include "proxy/shadow/fingerprint_book.h"

#include <cmath>

namespace sy::shadow {

std::string FingerprintBook::key(std::string_view tenant, std::string_view fingerprint) {
  std::string k;
  k.reserve(tenant.size() + fingerprint.size() + 1);
  k.append(tenant).push_back('\0');
  k.append(fingerprint);
  return k;
}

const FingerprintBook::Entry* FingerprintBook::find(std::string_view tenant, std::string_view fingerprint) const {
  auto it = entries_.find(key(tenant, fingerprint));
  return it == entries_.end() ? nullptr : &it->second;
}

bool FingerprintBook::sample(std::string_view tenant, std::string_view fingerprint, double percent) {
  if (!(percent > 0)) return false;
  if (entries_.size() >= kMaxFingerprints) entries_.clear();
  auto& e = entries_[key(tenant, fingerprint)];
  uint64_t n = e.executions++;
  if (n < kAlwaysFirst) return true;
  auto bp = static_cast<uint64_t>(std::llround(std::min(percent, 100.0) * 100));
  n -= kAlwaysFirst;
  return (n + 1) * bp / 10000 > n * bp / 10000;
}

bool FingerprintBook::wants_self_check(std::string_view tenant, std::string_view fingerprint) const {
  auto* e = find(tenant, fingerprint);
  return !e || (!e->noisy && e->self_checks < kSelfChecks);
}

bool FingerprintBook::may_recheck(std::string_view tenant, std::string_view fingerprint) const {
  auto* e = find(tenant, fingerprint);
  return !e || (!e->noisy && e->self_checks < kMaxSelfChecks);
}

void FingerprintBook::self_checked(std::string_view tenant, std::string_view fingerprint, bool differed) {
  auto& e = entries_[key(tenant, fingerprint)];
  ++e.self_checks;
  e.noisy = e.noisy || differed;
}

bool FingerprintBook::noisy(std::string_view tenant, std::string_view fingerprint) const {
  auto* e = find(tenant, fingerprint);
  return e && e->noisy;
}

}  // namespace sy::shadow
