#include "config/tenant_rules.h"

#include <cmath>
#include <map>

namespace sy::config {

bool valid_percent(double p) {
  return std::isfinite(p) && p >= 0 && p <= 100 && std::fabs(p * 100 - std::round(p * 100)) < 1e-6;
}

namespace {

// A tenant reads from the targets of the listeners it can match: its
// match.listener, or any listener when that is not set.
std::string target_error(const Config& cfg, const Tenant& t, const std::string& name) {
  if (t.match.listener.empty()) {
    for (const auto& l : cfg.listeners)
      if (l.target(name)) return {};
    return "no target named \"" + name + "\" on any listener";
  }
  const Listener* l = cfg.listener(t.match.listener);
  if (!l || l->target(name)) return {};  // an unknown listener is reported on its own
  return "no target named \"" + name + "\" on listener " + l->name;
}

// What a tenant's shadow settings will not do where it runs.
void shadow_warnings(const Config& cfg, const Tenant& t, TenantFindings& f) {
  if (!t.shadow) {
    if (!(t.guard == Guard{})) f.warnings.push_back({"guard", "the guard acts on shadow compares, and the tenant has no shadow:"});
    return;
  }
  for (const auto& l : cfg.listeners) {
    if (!t.match.listener.empty() && t.match.listener != l.name) continue;
    // Shadow connections log in as the proxy, with the target's own user.
    for (const std::string& name : {l.primary, t.shadow->target}) {
      const Target* target = name.empty() ? nullptr : l.target(name);
      if (target && target->user.empty())
        f.warnings.push_back({"shadow", "target " + name + " of listener " + l.name +
                                            " has no user: shadow reads log in with the target's user and "
                                            "password_env, so every shadow is dropped (reason no_credentials)"});
    }
    auto same_server = t.shadow->target.empty() || t.shadow->target == l.primary;
    auto runs = [&](Phase p) { return t.phase == p || (t.canary.phase == p && t.canary.percent > 0); };
    if (same_server && runs(Phase::Cleanup))
      f.warnings.push_back({"shadow", "in cleanup the legacy column is no longer written, so sessions in cleanup are "
                                      "not shadowed on the primary (only a shadow.target on another server compares them)"});
  }
}

}  // namespace

std::string ambiguous_reverse(const Migration& m) {
  std::map<std::string, int> sources;
  for (const auto& [legacy, unified] : m.map) ++sources[unified];
  for (const auto& [unified, count] : sources) {
    if (count < 2) continue;
    bool named = false;
    for (const auto& r : m.reverse) named = named || r.first == unified;
    if (!named) return unified;
  }
  return {};
}

TenantFindings check_tenant_flags(const Config& cfg, const Tenant& t) {
  TenantFindings f;
  auto error = [&](std::string path, std::string message) { f.errors.push_back({std::move(path), std::move(message)}); };
  const std::string percent_rule = "must be a number from 0 to 100 in steps of 0.01";
  if (!valid_percent(t.canary.percent)) error("canary.percent", percent_rule);
  if (t.shadow && !valid_percent(t.shadow->sample_percent)) error("shadow.sample_percent", percent_rule);
  // Without either, canary sessions would run exactly what the rest runs.
  if (t.canary.percent > 0 && !t.canary.phase && t.canary.read_target.empty())
    error("canary", "a canary with a percent needs a \"phase\" or a \"read_target\"");
  auto check_target = [&](const std::string& name, const char* path) {
    if (name.empty()) return;
    if (auto e = target_error(cfg, t, name); !e.empty()) error(path, e);
  };
  check_target(t.read_target, "read_target");
  check_target(t.canary.read_target, "canary.read_target");
  if (t.shadow) check_target(t.shadow->target, "shadow.target");
  // A switched read shows reverse(unified); where the map sends several legacy
  // values to one unified value, only the operator can say which one it reads
  // back as. Refused here, not in the migration, so a plan can dual-write
  // before that choice is made.
  auto reads = [&](Phase p) { return p == Phase::ReadSwitch || p == Phase::Cleanup; };
  if (reads(t.phase) || (t.canary.phase && t.canary.percent > 0 && reads(*t.canary.phase)))
    for (const auto& name : t.migrations)
      if (const Migration* m = cfg.migration(name))
        if (auto u = ambiguous_reverse(*m); !u.empty())
          error("phase", "migration " + name + " maps several legacy values to \"" + u +
                             "\" and has no reverse entry for it, which read_switch and cleanup need");
  for (const auto& u : unapplied_settings(t)) f.warnings.push_back({u.key, u.message});
  shadow_warnings(cfg, t, f);
  return f;
}

}  // namespace sy::config
