#include "proxy/telemetry/metrics.h"

#include "proxy/telemetry/tenant_stats.h"

namespace sy::proxy {

namespace {
struct FamilyInfo {
  const char* name;
  const char* type;
  const char* help;
};

// Every family SPEC.md names, so /metrics shows them even before first use.
constexpr FamilyInfo kFamilies[] = {
    {"client_connections", "gauge", "Open client connections per listener."},
    {"statements_total", "counter", "Statements seen from clients bound to a tenant, by kind."},
    {"rewrites_total", "counter", "Rewrite decisions per migration, by outcome."},
    {"shadow_compared_total", "counter", "Shadow reads compared."},
    {"shadow_mismatches_total", "counter", "Shadow reads that disagreed."},
    {"shadow_dropped_total", "counter", "Shadow reads dropped, by reason."},
    {"shadow_noise_total", "counter", "Sampled reads of fingerprints that answer differently when run twice (not compared)."},
    {"shadow_answers_kept_total", "counter", "Shadows on another target compared with the client's own answer, so the primary did not read again."},
    {"shadow_slow_reads", "gauge", "Fingerprints whose switched form runs at least 2x slower than the legacy one (see /v1/slow_reads)."},
    {"guard_state", "gauge", "Guard state per tenant: 0 ok, 1 warn, 2 tripped (held until a PATCH)."},
    {"phase", "gauge", "1 for the phase each tenant is in."},
    {"canary_percent", "gauge", "Canary percentage per tenant."},
    {"guard_trips_total", "counter", "Guard trips per tenant."},
    {"backend_errors_total", "counter", "Failed or lost connections to a target."},
    {"flags_store_up", "gauge", "1 while the flags store (flags_store) answers, else 0."},
    {"flags_store_version", "gauge", "The fleet's flag version: changes the flags store holds (sum of its rows' versions)."},
    {"flags_version_applied", "gauge", "Changes from the flags store this sidecar has applied (equal to flags_store_version when in step)."},
    {"flags_store_writes_total", "counter", "Writes to the flags store (PATCH, guard trips), by outcome: ok, conflict, error."},
    {"flags_store_rejected_total", "counter", "Flags store rows this sidecar's config does not accept (not applied; logged as flags_store_not_applied)."},
};

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Metrics::Metrics()
    : rewrite_duration_({1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2}),
      statement_overhead_({1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3}),
      shadow_duration_({1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5}) {
  for (const auto& f : kFamilies) families_[f.name] = Family{f.type, f.help, {}};
}

std::string Metrics::label_key(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    key += key.empty() ? "" : ",";
    key += k + "=\"" + escape_label(v) + "\"";
  }
  return key;
}

std::atomic<double>& Metrics::value(const std::string& family,
                                    const std::vector<std::pair<std::string, std::string>>& labels) {
  auto key = label_key(labels);
  std::lock_guard lock(mu_);
  auto& fam = families_[family];
  auto& slot = fam.values[key];
  if (!slot) {
    slot = std::make_unique<std::atomic<double>>(0);
    fam.label_sets[key] = labels;
  }
  return *slot;
}

Counter& Metrics::counter(const std::string& family, const std::vector<std::pair<std::string, std::string>>& labels) {
  auto key = label_key(labels);
  std::lock_guard lock(mu_);
  auto& fam = families_[family];
  if (fam.type.empty()) fam.type = "counter";
  auto& slot = fam.series[key];
  if (!slot) {
    slot = std::make_unique<Counter>(0);
    fam.label_sets[key] = labels;
  }
  return *slot;
}

std::shared_ptr<const TenantStats> Metrics::tenant_stats(const std::string& tenant,
                                                        const std::vector<std::string>& migrations) {
  // Built outside the lock: TenantStats resolves its own series through counter().
  {
    std::lock_guard lock(mu_);
    if (auto it = tenant_stats_.find(tenant); it != tenant_stats_.end() && it->second->migrations() == migrations)
      return it->second;
  }
  auto stats = std::make_shared<const TenantStats>(*this, tenant, migrations);
  std::lock_guard lock(mu_);
  return tenant_stats_[tenant] = std::move(stats);
}

std::vector<Metrics::Sample> Metrics::snapshot(const std::string& family) const {
  std::vector<Sample> out;
  std::lock_guard lock(mu_);
  auto it = families_.find(family);
  if (it == families_.end()) return out;
  const auto& fam = it->second;
  for (const auto& [key, v] : fam.series)
    out.push_back({fam.label_sets.at(key), double(v->load(std::memory_order_relaxed))});
  for (const auto& [key, v] : fam.values) out.push_back({fam.label_sets.at(key), v->load(std::memory_order_relaxed)});
  return out;
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, fam] : families_) {
    std::string full = "switchyard_" + name;
    out += "# HELP " + full + " " + fam.help + "\n# TYPE " + full + " " + fam.type + "\n";
    for (const auto& [labels, value] : fam.series)
      out += full + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(value->load(std::memory_order_relaxed)) + "\n";
    for (const auto& [labels, value] : fam.values)
      out += full + (labels.empty() ? "" : "{" + labels + "}") + " " + prometheus_double(value->load(std::memory_order_relaxed)) + "\n";
  }
  out += "# HELP switchyard_rewrite_duration_seconds Time to decide and rewrite one statement that passed the pre-filter.\n"
         "# TYPE switchyard_rewrite_duration_seconds histogram\n";
  rewrite_duration_.render(out, "switchyard_rewrite_duration_seconds");
  out += "# HELP switchyard_statement_overhead_seconds Time the proxy spends on one client statement (Query, Parse) before forwarding it.\n"
         "# TYPE switchyard_statement_overhead_seconds histogram\n";
  statement_overhead_.render(out, "switchyard_statement_overhead_seconds");
  out += "# HELP switchyard_shadow_duration_seconds One shadow read, from a lane taking it to its verdict or drop (both forms, the compare).\n"
         "# TYPE switchyard_shadow_duration_seconds histogram\n";
  shadow_duration_.render(out, "switchyard_shadow_duration_seconds");
  return out;
}

}  // namespace sy::proxy
