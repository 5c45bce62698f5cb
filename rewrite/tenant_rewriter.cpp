#include "rewrite/tenant_rewriter.h"

namespace sy::rewrite {

TenantRewriter::TenantRewriter(const config::Config& cfg, const config::Tenant& tenant)
    : tenant_(tenant.name),
      on_unsupported_(tenant.on_unsupported),
      migrations_(cfg, tenant),
      pg_(migrations_),
      mysql_(migrations_) {}

template <class Lock>
std::shared_ptr<const Decision> TenantRewriter::decide_in(DecisionTables& tables, Lock lock, std::string_view sql,
                                                          config::Phase phase, bool extended, Dialect dialect) const {
  if (!migrations_.needs_parse(sql, phase)) return nullptr;
  const bool my = dialect == Dialect::Mysql;
  auto& map = tables[(my ? 10 : 0) + static_cast<size_t>(phase) * 2 + (extended ? 1 : 0)];
  {
    [[maybe_unused]] auto held = lock();
    if (const auto* hit = map.find(sql)) return *hit;
  }
  RewriteOptions opts{.phase = phase, .on_unsupported = on_unsupported_, .extended = extended};
  auto d = my ? mysql_.rewrite(sql, opts) : pg_.rewrite(sql, opts);
  std::shared_ptr<const Decision> decision;
  if (d.action == Decision::Action::Rewrite || !d.events.empty())
    decision = std::make_shared<const Decision>(std::move(d));
  [[maybe_unused]] auto held = lock();
  map.insert(sql, decision);
  return decision;
}

std::shared_ptr<const Decision> TenantRewriter::decide(DecisionCache& cache, std::string_view sql, config::Phase phase,
                                                       bool extended, Dialect dialect) const {
  // Only the calling thread touches its cache: nothing to lock.
  return decide_in(cache.tables(token_), [] { return 0; }, sql, phase, extended, dialect);
}

std::shared_ptr<const Decision> TenantRewriter::decide(std::string_view sql, config::Phase phase, bool extended,
                                                       Dialect dialect) {
  return decide_in(shared_, [this] { return std::unique_lock(shared_mu_); }, sql, phase, extended, dialect);
}

}  // namespace sy::rewrite
