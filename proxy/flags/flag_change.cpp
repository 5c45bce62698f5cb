#include "proxy/flags/flag_change.h"

#include "config/tenant_rules.h"

namespace sy::proxy {

config::Tenant with_overrides(config::Tenant t, const TenantOverrides& o) {
  if (o.phase) t.phase = *o.phase;
  if (o.canary) t.canary = *o.canary;
  if (o.read_target) t.read_target = *o.read_target;
  if (o.shadow_sample_percent && t.shadow) t.shadow->sample_percent = *o.shadow_sample_percent;
  return t;
}

namespace {

// A setting put back to the file's value holds no override, so a later change
// of that setting in the file applies again.
template <class T>
void lay(std::optional<T>& override_value, const Change<T>& c) {
  if (c.resets()) override_value.reset();
  else if (c.value()) override_value = *c.value();
}

config::Canary laid_canary(const config::Canary& current, const config::Canary& file, const CanaryChange& c) {
  config::Canary out;
  out.phase = c.phase.applied_to(current.phase, file.phase);
  out.read_target = c.read_target.applied_to(current.read_target, file.read_target);
  out.percent = c.percent.applied_to(current.percent, file.percent);
  out.sticky_by = c.sticky_by.applied_to(current.sticky_by, file.sticky_by);
  return out;
}

}  // namespace

ChangeResult lay_change(const config::Config& cfg, const config::Tenant& file, TenantOverrides& overrides,
                        const FlagChange& change) {
  if (change.empty()) return {400, "nothing to change: give phase, canary, read_target or shadow", {}};
  if (change.shadow_sample_percent.value() && !file.shadow)
  {
    std::string e = "shadow.sample_percent: tenant " + file.name + " has no shadow configured";
    return {422, e, {e}};
  }
  TenantOverrides next = overrides;
  lay(next.phase, change.phase);
  lay(next.read_target, change.read_target);
  lay(next.shadow_sample_percent, change.shadow_sample_percent);
  if (!change.canary.leaves()) {
    auto canary = laid_canary(with_overrides(file, overrides).canary, file.canary, change.canary);
    if (canary == file.canary) next.canary.reset();
    else next.canary = canary;
  }
  auto findings = config::check_tenant_flags(cfg, with_overrides(file, next));
  ChangeResult r;
  if (!findings.errors.empty()) {
    r.status = 422;
    for (const auto& e : findings.errors) {
      r.details.push_back(e.path + ": " + e.message);
      r.error += (r.error.empty() ? "" : "; ") + r.details.back();
    }
    return r;
  }
  overrides = next;
  for (const auto& w : findings.warnings) r.details.push_back(w.message);
  return r;
}

}  // namespace sy::proxy
