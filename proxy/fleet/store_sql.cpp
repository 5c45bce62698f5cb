#include "proxy/fleet/store_sql.h"

namespace sy::proxy::fleet {

std::vector<std::string> StoreSql::ddl() const {
  if (d_ == Dialect::Postgres)
    return {
        "CREATE TABLE IF NOT EXISTS " + t_ +
            " (tenant text PRIMARY KEY, version bigint NOT NULL, overrides text NOT NULL, who text NOT NULL,"
            " why text NOT NULL DEFAULT '', updated_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS " + t_ +
            "_history (id bigserial PRIMARY KEY, tenant text NOT NULL, version bigint NOT NULL, who text NOT NULL,"
            " sidecar text NOT NULL, at timestamptz NOT NULL DEFAULT now(), from_overrides text NOT NULL,"
            " to_overrides text NOT NULL, why text NOT NULL DEFAULT '', UNIQUE (tenant, version))",
        "CREATE TABLE IF NOT EXISTS " + t_ +
            "_sidecars (sidecar text PRIMARY KEY, flags_version bigint NOT NULL, compared bigint NOT NULL,"
            " mismatches bigint NOT NULL, guard text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
    };
  // utf8mb4 keys of 191 characters fit InnoDB's 767-byte index prefix on every version.
  return {
      "CREATE TABLE IF NOT EXISTS " + t_ +
          " (tenant VARCHAR(191) NOT NULL PRIMARY KEY, version BIGINT NOT NULL, overrides TEXT NOT NULL,"
          " who VARCHAR(255) NOT NULL, why TEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
          " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
      "CREATE TABLE IF NOT EXISTS " + t_ +
          "_history (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, tenant VARCHAR(191) NOT NULL,"
          " version BIGINT NOT NULL, who VARCHAR(255) NOT NULL, sidecar VARCHAR(191) NOT NULL,"
          " at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), from_overrides TEXT NOT NULL,"
          " to_overrides TEXT NOT NULL, why TEXT NOT NULL, UNIQUE KEY tenant_version (tenant, version))"
          " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
      "CREATE TABLE IF NOT EXISTS " + t_ +
          "_sidecars (sidecar VARCHAR(191) NOT NULL PRIMARY KEY, flags_version BIGINT NOT NULL,"
          " compared BIGINT NOT NULL, mismatches BIGINT NOT NULL, guard TEXT NOT NULL,"
          " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
  };
}

std::string StoreSql::select_rows() const { return "SELECT tenant, version, overrides, who FROM " + t_ + " ORDER BY tenant"; }

std::string StoreSql::select_row() const {
  return "SELECT tenant, version, overrides, who FROM " + t_ + " WHERE tenant = " + p(1);
}

std::string StoreSql::cas_update() const {
  return "UPDATE " + t_ + " SET version = version + 1, overrides = " + p(1) + ", who = " + p(2) + ", why = " + p(3) +
         ", updated_at = " + now() + " WHERE tenant = " + p(4) + " AND version = " + p(5);
}

std::string StoreSql::cas_insert() const {
  std::string head = "INSERT INTO " + t_ + " (tenant, version, overrides, who, why) VALUES (" + p(1) + ", 1, " + p(2) +
                     ", " + p(3) + ", " + p(4) + ")";
  // Someone else wrote the first version meanwhile: no row changes, which is the conflict.
  if (d_ == Dialect::Postgres) return head + " ON CONFLICT (tenant) DO NOTHING";
  return head + " ON DUPLICATE KEY UPDATE tenant = tenant";
}

std::string StoreSql::insert_history() const {
  return "INSERT INTO " + t_ + "_history (tenant, version, who, sidecar, from_overrides, to_overrides, why) VALUES (" +
         p(1) + ", " + p(2) + ", " + p(3) + ", " + p(4) + ", " + p(5) + ", " + p(6) + ", " + p(7) + ")";
}

std::string StoreSql::notify() const { return "SELECT pg_notify('" + t_ + "', $1)"; }

std::string StoreSql::listen() const { return "LISTEN \"" + t_ + "\""; }

std::string StoreSql::select_history() const {
  std::string at = d_ == Dialect::Postgres ? "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                                           // the store connection runs with time_zone '+00:00'
                                           : "DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%s.%fZ')";
  return "SELECT version, who, sidecar, " + at + ", from_overrides, to_overrides, why FROM " + t_ +
         "_history WHERE tenant = " + p(1) + " ORDER BY version DESC LIMIT 200";
}

std::string StoreSql::upsert_heartbeat() const {
  std::string head = "INSERT INTO " + t_ + "_sidecars (sidecar, flags_version, compared, mismatches, guard) VALUES (" +
                     p(1) + ", " + p(2) + ", " + p(3) + ", " + p(4) + ", " + p(5) + ")";
  if (d_ == Dialect::Postgres)
    return head +
           " ON CONFLICT (sidecar) DO UPDATE SET flags_version = EXCLUDED.flags_version, compared = EXCLUDED.compared,"
           " mismatches = EXCLUDED.mismatches, guard = EXCLUDED.guard, updated_at = now()";
  return head +
         " ON DUPLICATE KEY UPDATE flags_version = VALUES(flags_version), compared = VALUES(compared),"
         " mismatches = VALUES(mismatches), guard = VALUES(guard), updated_at = CURRENT_TIMESTAMP(6)";
}

std::string StoreSql::select_sidecars() const {
  std::string age = d_ == Dialect::Postgres ? "extract(epoch FROM (now() - updated_at))::float8"
                                            : "TIMESTAMPDIFF(MICROSECOND, updated_at, CURRENT_TIMESTAMP(6)) / 1000000.0";
  return "SELECT sidecar, flags_version, compared, mismatches, guard, " + age + " FROM " + t_ +
         "_sidecars ORDER BY sidecar";
}

}  // namespace sy::proxy::fleet
