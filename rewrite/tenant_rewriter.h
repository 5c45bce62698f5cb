#pragma once
// Everything a session needs to rewrite one tenant's statements: its
// migrations, the PostgreSQL rewriter and a cache of decisions keyed by the
// exact statement text. Shared by all sessions of the tenant; thread-safe.
//
// The hot path for a statement that touches no mapped column is the
// pre-filter alone (no parse, no lock). A statement seen before costs one
// hash lookup under a mutex.
#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "rewrite/decision.h"
#include "rewrite/migration_set.h"
#include "rewrite/mysql_rewriter.h"
#include "rewrite/pg_rewriter.h"
#include "rewrite/sql_lexer.h"

namespace sy::rewrite {

class TenantRewriter {
 public:
  //! At most this many distinct statement texts are cached per phase; the
  //! cache is cleared when full (ORMs produce a bounded set of texts).
  static constexpr size_t kCacheEntries = 16384;
  //! Longer texts are decided but not cached (bulk INSERTs rarely repeat).
  static constexpr size_t kMaxCachedText = 8192;

  TenantRewriter(const config::Config& cfg, const config::Tenant& tenant);

  //! nullptr: forward unchanged, nothing to log. Otherwise the decision, which
  //! may still be Forward (observe, unsupported) but carries events.
  std::shared_ptr<const Decision> decide(std::string_view sql, config::Phase phase, bool extended,
                                         Dialect dialect = Dialect::Postgres);

  const std::string& tenant() const { return tenant_; }
  const MigrationSet& migrations() const { return migrations_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Cache = std::unordered_map<std::string, std::shared_ptr<const Decision>, Hash, std::equal_to<>>;

  std::string tenant_;
  config::OnUnsupported on_unsupported_;
  MigrationSet migrations_;
  PgRewriter pg_;
  MysqlRewriter mysql_;
  std::mutex mu_;
  std::array<Cache, 20> caches_;  //!< by dialect x phase x (simple, extended)
};

}  // namespace sy::rewrite
