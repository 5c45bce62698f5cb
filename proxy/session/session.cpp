#include "proxy/session/session.h"

#include "proxy/telemetry/log.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/telemetry/tenant_stats.h"

namespace sy::proxy {

namespace {

void log_event(const rewrite::MigrationEvent& ev, const rewrite::Decision& d, const std::string& tenant,
               config::Phase phase, const std::string& client) {
  const char* category = "STATUS_UPDATE";
  // Observing is for reading the log; once rewriting, the counters carry the volume.
  auto level = phase == config::Phase::Observe ? log::Level::info : log::Level::debug;
  if (ev.outcome == rewrite::Outcome::Unmapped) {
    category = "UNMAPPED_VALUE";
    level = log::Level::warn;
  } else if (ev.outcome == rewrite::Outcome::Unsupported || ev.outcome == rewrite::Outcome::Rejected ||
             ev.outcome == rewrite::Outcome::ReadUnsupported) {
    category = "REWRITE_UNSUPPORTED";
    level = log::Level::warn;
  } else if (ev.outcome == rewrite::Outcome::ReadSwitched) {
    category = "READ_SWITCHED";
    level = log::Level::debug;
  }
  if (ev.outcome == rewrite::Outcome::Rejected && ev.reason.find("unmapped value") != std::string::npos)
    category = "UNMAPPED_VALUE";
  log::Event e(level, "rewrite");
  e.category(category).str("tenant", tenant).str("phase", config::to_string(phase)).str("table", ev.table)
      .str("migration", ev.migration).str("outcome", rewrite::to_string(ev.outcome));
  const bool read = ev.outcome == rewrite::Outcome::ReadSwitched || ev.outcome == rewrite::Outcome::ReadUnsupported;
  e.str("kind", read ? "read" : "write");
  if (!ev.entity_id.empty()) e.str("entity_id", ev.entity_id);
  if (!ev.legacy.empty()) {
    std::string transition = "{\"legacy\":";
    log::append_json_string(transition, ev.legacy);
    transition += ",\"unified\":";
    log::append_json_string(transition, ev.unified);
    transition += "}";
    e.raw("transition", transition);
  }
  if (!ev.reason.empty()) e.str("reason", ev.reason);
  e.str("fingerprint", d.fingerprint).str("client", client);
}

}  // namespace

void record_decision(const TenantStats& stats, const rewrite::Decision& d, config::Phase phase, const std::string& client) {
  for (const auto& ev : d.events) {
    stats.rewrites(ev.migration, ev.outcome).fetch_add(1, std::memory_order_relaxed);
    log_event(ev, d, stats.tenant(), phase, client);
  }
}

}  // namespace sy::proxy
