#include "proxy/ops/explain.h"

#include <iostream>

#include "proxy/telemetry/json_writer.h"
#include "rewrite/migration_set.h"
#include "rewrite/mysql_rewriter.h"
#include "rewrite/pg_rewriter.h"

namespace sy::proxy {

namespace {
void print_json(const rewrite::Decision& d, std::string_view sql, config::Phase phase, const std::string& tenant) {
  rapidjson::StringBuffer out;
  json::Writer w(out);
  w.StartObject();
  json::member(w, "tenant", tenant);
  json::member(w, "phase", config::to_string(phase));
  json::member(w, "decision", d.rejected ? "reject" : d.action == rewrite::Decision::Action::Rewrite ? "rewrite" : "forward");
  json::member(w, "sql", d.action == rewrite::Decision::Action::Rewrite ? std::string_view(d.sql) : sql);
  json::key(w, "events");
  w.StartArray();
  for (const auto& ev : d.events) {
    w.StartObject();
    json::member(w, "outcome", rewrite::to_string(ev.outcome));
    for (auto [k, v] : {std::pair{"migration", &ev.migration}, std::pair{"table", &ev.table}, std::pair{"legacy", &ev.legacy},
                        std::pair{"unified", &ev.unified}, std::pair{"entity_id", &ev.entity_id}, std::pair{"reason", &ev.reason}})
      if (!v->empty()) json::member(w, k, *v);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::cout << out.GetString() << "\n";
}
}  // namespace

int explain(const config::Config& cfg, const std::string& tenant_name, const std::string& phase_name,
            const std::string& dialect_arg, const std::string& sql, bool json) {
  const config::Tenant* tenant = nullptr;
  for (const auto& t : cfg.tenants)
    if (t.name == tenant_name) tenant = &t;
  if (!tenant) {
    std::cerr << "explain: no tenant named \"" << tenant_name << "\" in " << cfg.source << "\n";
    return 2;
  }
  std::string dialect = dialect_arg;
  if (dialect.empty()) {
    // The dialect the tenant's statements arrive in: its match.listener, or
    // the only listener (as verify and backfill choose); else PostgreSQL.
    const auto* l = !tenant->match.listener.empty() ? cfg.listener(tenant->match.listener)
                    : cfg.listeners.size() == 1     ? &cfg.listeners.front()
                                                    : nullptr;
    dialect = l && l->protocol == config::Protocol::Mysql ? "mysql" : "postgres";
  }
  if (dialect != "postgres" && dialect != "mysql") {
    std::cerr << "explain: dialect must be postgres or mysql\n";
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
  bool prefiltered = migrations.needs_parse(sql, phase);
  rewrite::RewriteOptions opts{.phase = phase, .on_unsupported = tenant->on_unsupported};
  auto d = dialect == "mysql" ? rewrite::MysqlRewriter(migrations).rewrite(sql, opts)
                              : rewrite::PgRewriter(migrations).rewrite(sql, opts);
  if (json) {
    print_json(d, sql, phase, tenant->name);
    return 0;
  }

  std::cout << "tenant:   " << tenant->name << "\nphase:    " << config::to_string(phase) << "\n";
  const char* decision = d.rejected ? "reject (the client gets an error; nothing is written)"
                         : d.action == rewrite::Decision::Action::Rewrite ? "rewrite"
                                                                          : "forward unchanged";
  std::cout << "decision: " << decision << "\n";
  const bool reads = phase == config::Phase::ReadSwitch || phase == config::Phase::Cleanup;
  if (!prefiltered)
    std::cout << (reads ? "reason:   pre-filter: no migrated table named in the text\n"
                        : "reason:   pre-filter: no migrated table, legacy column and write keyword in the text\n");
  else if (d.events.empty())
    std::cout << (reads ? "reason:   no read or write of a legacy column\n" : "reason:   no write of a legacy column\n");
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
