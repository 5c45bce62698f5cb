#pragma once
// Everything a session needs to rewrite one tenant's statements: its
// migrations and the PostgreSQL and MySQL rewriters. Shared by all sessions
// of the tenant; thread-safe (the rewriters are immutable once built).
//
// The hot path for a statement that touches no mapped column is the
// pre-filter alone (no parse, no lock). A statement seen before is served
// from the calling worker's DecisionCache: one hash lookup, no lock.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "config/config.h"
#include "rewrite/decision.h"
#include "rewrite/decision_cache.h"
#include "rewrite/migration_set.h"
#include "rewrite/mysql_rewriter.h"
#include "rewrite/pg_rewriter.h"
#include "rewrite/sql_lexer.h"

namespace sy::rewrite {

class TenantRewriter {
 public:
  TenantRewriter(const config::Config& cfg, const config::Tenant& tenant);

  //! nullptr: forward unchanged, nothing to log. Otherwise the decision, which
  //! may still be Forward (observe, unsupported) but carries events.
  //! `cache` belongs to the calling thread (its worker's).
  std::shared_ptr<const Decision> decide(DecisionCache& cache, std::string_view sql, config::Phase phase, bool extended,
                                         Dialect dialect = Dialect::Postgres) const;
  //! The same with a cache shared by every thread, behind a mutex: kept for
  //! callers that do not yet pass their worker's cache.
  std::shared_ptr<const Decision> decide(std::string_view sql, config::Phase phase, bool extended,
                                         Dialect dialect = Dialect::Postgres);

  const std::string& tenant() const { return tenant_; }
  const MigrationSet& migrations() const { return migrations_; }

 private:
  //! Looks `sql` up in `tables` under `lock()`, decides on a miss without it.
  template <class Lock>
  std::shared_ptr<const Decision> decide_in(DecisionTables& tables, Lock lock, std::string_view sql,
                                            config::Phase phase, bool extended, Dialect dialect) const;

  std::string tenant_;
  config::OnUnsupported on_unsupported_;
  MigrationSet migrations_;
  PgRewriter pg_;
  MysqlRewriter mysql_;
  //! Identifies this rewriter in the workers' caches (see DecisionCache).
  std::shared_ptr<const void> token_ = std::make_shared<char>();
  std::mutex shared_mu_;
  DecisionTables shared_;  //!< guarded by shared_mu_
};

}  // namespace sy::rewrite
