#include "rewrite/tenant_rewriter.h"

namespace sy::rewrite {

TenantRewriter::TenantRewriter(const config::Config& cfg, const config::Tenant& tenant)
    : tenant_(tenant.name),
      on_unsupported_(tenant.on_unsupported),
      migrations_(cfg, tenant),
      pg_(migrations_),
      mysql_(migrations_) {}

std::shared_ptr<const Decision> TenantRewriter::decide(std::string_view sql, config::Phase phase, bool extended,
                                                       Dialect dialect) {
  if (phase == config::Phase::Off || !migrations_.may_touch(sql)) return nullptr;
  const bool my = dialect == Dialect::Mysql;
  auto& cache = caches_[(my ? 10 : 0) + static_cast<size_t>(phase) * 2 + (extended ? 1 : 0)];
  bool cacheable = sql.size() <= kMaxCachedText;
  if (cacheable) {
    std::lock_guard lock(mu_);
    if (auto it = cache.find(sql); it != cache.end()) return it->second;
  }
  RewriteOptions opts{.phase = phase, .on_unsupported = on_unsupported_, .extended = extended};
  auto d = my ? mysql_.rewrite(sql, opts) : pg_.rewrite(sql, opts);
  std::shared_ptr<const Decision> decision;
  if (d.action == Decision::Action::Rewrite || !d.events.empty())
    decision = std::make_shared<const Decision>(std::move(d));
  if (cacheable) {
    std::lock_guard lock(mu_);
    if (cache.size() >= kCacheEntries) cache.clear();
    cache.emplace(std::string(sql), decision);
  }
  return decision;
}

}  // namespace sy::rewrite
