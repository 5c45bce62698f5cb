#include "proxy/telemetry/tenant_stats.h"

#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

TenantStats::TenantStats(Metrics& metrics, std::string tenant, std::vector<std::string> migrations)
    : metrics_(metrics),
      tenant_(std::move(tenant)),
      migrations_(std::move(migrations)),
      simple_(metrics.counter("statements_total", {{"tenant", tenant_}, {"kind", "simple"}})),
      extended_(metrics.counter("statements_total", {{"tenant", tenant_}, {"kind", "extended"}})) {
  auto add = [this](const std::string& migration) {
    for (size_t o = 0; o < kOutcomes; ++o)
      rewrites_.emplace_back(metrics_, "rewrites_total",
                             LazySeries::Labels{{"tenant", tenant_},
                                                {"migration", migration},
                                                {"outcome", rewrite::to_string(static_cast<rewrite::Outcome>(o))}});
  };
  for (const auto& m : migrations_) add(m);
  add("");
}

Counter& TenantStats::rewrites(std::string_view migration, rewrite::Outcome outcome) const {
  // A tenant has a handful of migrations: a linear scan beats hashing.
  size_t i = 0;
  while (i < migrations_.size() && migrations_[i] != migration) ++i;
  if (i == migrations_.size() && !migration.empty())
    return metrics_.counter("rewrites_total", {{"tenant", tenant_},
                                               {"migration", std::string(migration)},
                                               {"outcome", rewrite::to_string(outcome)}});
  return rewrites_[i * kOutcomes + static_cast<size_t>(outcome)].get();
}

}  // namespace sy::proxy
