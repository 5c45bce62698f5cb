#pragma once
// The flags store's SQL, per dialect: the DDL that `switchyard
// init-flags-store` runs and the statements FleetSync sends. Socket-free
// strings, so they are unit-tested and shown in the docs as they are.
//
// Three tables, named after flags_store.table (T):
//   T           one row per tenant that has runtime overrides: the overrides
//               (JSON, state_file's shape), a version bumped by every change
//               (compare-and-set on it), who made the last change and why.
//   T_history   one row per change: tenant, version, who, sidecar, at, from, to, why.
//   T_sidecars  one heartbeat row per sidecar: the flags version it applied,
//               its shadow compare and mismatch counts, its guard states.
#include <string>
#include <vector>

namespace sy::proxy::fleet {

enum class Dialect { Postgres, Mysql };

class StoreSql {
 public:
  StoreSql(Dialect d, std::string table) : d_(d), t_(std::move(table)) {}

  Dialect dialect() const { return d_; }
  const std::string& table() const { return t_; }
  //! CREATE TABLE IF NOT EXISTS, one statement each (idempotent).
  std::vector<std::string> ddl() const;

  //! tenant, version, overrides, who: every row.
  std::string select_rows() const;
  //! The same for one tenant (parameter 1).
  std::string select_row() const;
  //! Compare-and-set: (overrides, who, why, tenant, expected version); one row changed or none.
  std::string cas_update() const;
  //! The first change of a tenant (expected version 0): (tenant, overrides, who, why); one row or none.
  std::string cas_insert() const;
  //! (tenant, version, who, sidecar, from, to, why)
  std::string insert_history() const;
  //! PostgreSQL only: (payload); sent in the writing transaction, so it is delivered at commit.
  std::string notify() const;
  //! PostgreSQL only: the channel every sidecar listens on.
  std::string listen() const;
  std::string channel() const { return t_; }
  std::string begin() const { return d_ == Dialect::Postgres ? "BEGIN" : "START TRANSACTION"; }
  //! (tenant): version, who, sidecar, at (UTC, ISO 8601), from, to, why; newest first, at most 200.
  std::string select_history() const;
  //! Heartbeat upsert: (sidecar, flags_version, compared, mismatches, guard).
  std::string upsert_heartbeat() const;
  //! sidecar, flags_version, compared, mismatches, guard, seconds since its last heartbeat.
  std::string select_sidecars() const;

 private:
  std::string p(int n) const { return d_ == Dialect::Postgres ? "$" + std::to_string(n) : "?"; }
  std::string now() const { return d_ == Dialect::Postgres ? "now()" : "CURRENT_TIMESTAMP(6)"; }
  Dialect d_;
  std::string t_;
};

}  // namespace sy::proxy::fleet
