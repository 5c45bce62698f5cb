#include "proxy/fleet/init_flags_store.h"

#include "proxy/fleet/store_sql.h"
#include "proxy/ops/db_client.h"

namespace sy::proxy {

int init_flags_store(const config::Config& cfg, std::ostream& out, std::ostream& err) {
  if (!cfg.flags_store) {
    err << "switchyard init-flags-store: " << cfg.source << " has no flags_store section\n";
    return 1;
  }
  const auto* listener = cfg.flags_store_listener();
  OpsTarget where;
  where.listener = listener;
  where.target = listener->target(cfg.flags_store->target);
  where.database = where.target->database;
  auto dialect = listener->protocol == config::Protocol::Mysql ? fleet::Dialect::Mysql : fleet::Dialect::Postgres;
  fleet::StoreSql sql(dialect, cfg.flags_store->table);
  try {
    auto db = connect_db(where, "switchyard-init-flags-store");
    for (const auto& ddl : sql.ddl()) db->run(ddl);
  } catch (const DbError& e) {
    err << "switchyard init-flags-store: " << e.what() << "\n";
    return 2;
  }
  out << "flags store ready: tables " << sql.table() << ", " << sql.table() << "_history, " << sql.table()
      << "_sidecars in " << where.describe() << "\n";
  return 0;
}

}  // namespace sy::proxy
