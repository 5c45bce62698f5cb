#include "proxy/explain.h"

#include <iostream>

#include "rewrite/migration_set.h"
#include "rewrite/pg_rewriter.h"

namespace sy::proxy {

int explain(const config::Config& cfg, const std::string& tenant_name, const std::string& phase_name,
            const std::string& dialect, const std::string& sql) {
  const config::Tenant* tenant = nullptr;
  for (const auto& t : cfg.tenants)
    if (t.name == tenant_name) tenant = &t;
  if (!tenant) {
    std::cerr << "explain: no tenant named \"" << tenant_name << "\" in " << cfg.source << "\n";
    return 2;
  }
  if (dialect != "postgres") {
    std::cerr << "explain: dialect \"" << dialect << "\" is not supported yet (postgres only)\n";
    return 2;
  }
  if (sql.empty()) {
    std::cerr << "explain: give the SQL text as the last argument\n";
    return 2;
  }
  auto phase = tenant->phase;
  if (!phase_name.empty()) {
    auto p = config::parse_phase(phase_name);
    if (!p) {
      std::cerr << "explain: unknown phase \"" << phase_name << "\" (off | observe | dual_write | read_switch | cleanup)\n";
      return 2;
    }
    phase = *p;
  }
  rewrite::MigrationSet migrations(cfg, *tenant);
  rewrite::PgRewriter rewriter(migrations);
  bool prefiltered = migrations.may_touch(sql);
  auto d = rewriter.rewrite(sql, {.phase = phase, .on_unsupported = tenant->on_unsupported});

  std::cout << "tenant:   " << tenant->name << "\nphase:    " << config::to_string(phase) << "\n";
  const char* decision = d.rejected ? "reject (the client gets an error; nothing is written)"
                         : d.action == rewrite::Decision::Action::Rewrite ? "rewrite"
                                                                          : "forward unchanged";
  std::cout << "decision: " << decision << "\n";
  if (!prefiltered) std::cout << "reason:   pre-filter: no migrated table, legacy column and write keyword in the text\n";
  else if (d.events.empty()) std::cout << "reason:   no write of a legacy column\n";
  for (const auto& ev : d.events) {
    std::cout << "  - " << rewrite::to_string(ev.outcome);
    if (!ev.migration.empty()) std::cout << " [" << ev.migration << " on " << ev.table << "]";
    if (!ev.legacy.empty()) std::cout << " legacy " << ev.legacy << " -> unified " << ev.unified;
    if (!ev.entity_id.empty()) std::cout << " (entity " << ev.entity_id << ")";
    if (!ev.reason.empty()) std::cout << ": " << ev.reason;
    std::cout << "\n";
  }
  if (!d.fingerprint.empty()) std::cout << "fingerprint: " << d.fingerprint << "\n";
  std::cout << "sql:\n" << (d.action == rewrite::Decision::Action::Rewrite ? d.sql : sql) << "\n";
  return 0;
}

}  // namespace sy::proxy
