#pragma once
// The counters one tenant's sessions touch per statement, resolved once from
// the registry (Envoy-style typed stats) so that counting a statement or a
// rewrite is a relaxed atomic add: no registry lock, no label string.
//
// statements_total's two series exist from the first bind, as before.
// rewrites_total's series by (migration, outcome) appear in /metrics only once
// they counted something, as before (LazySeries).
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/telemetry/histogram.h"
#include "proxy/telemetry/lazy_series.h"
#include "rewrite/decision.h"

namespace sy::proxy {

class Metrics;

class TenantStats {
 public:
  //! Use Metrics::tenant_stats(), which shares one per tenant.
  TenantStats(Metrics& metrics, std::string tenant, std::vector<std::string> migrations);
  TenantStats(const TenantStats&) = delete;
  TenantStats& operator=(const TenantStats&) = delete;

  const std::string& tenant() const { return tenant_; }
  //! The tenant's migrations this table was resolved for (config order).
  const std::vector<std::string>& migrations() const { return migrations_; }

  Counter& statements_simple() const { return simple_; }
  Counter& statements_extended() const { return extended_; }
  //! rewrites_total{tenant, migration, outcome}. A migration outside the
  //! tenant's list (its config changed under a session that has not looked
  //! again yet) still counts correctly, through the registry.
  Counter& rewrites(std::string_view migration, rewrite::Outcome outcome) const;

 private:
  static constexpr size_t kOutcomes = rewrite::kOutcomeCount;

  Metrics& metrics_;
  std::string tenant_;
  std::vector<std::string> migrations_;
  Counter& simple_;
  Counter& extended_;
  //! rewrites_total by migration x outcome, for the tenant's migrations and
  //! then "" (an unsupported statement that names no migration). A deque
  //! because series never move.
  std::deque<LazySeries> rewrites_;
};

}  // namespace sy::proxy
