#include "proxy/shadow/shadow_service.h"

#include <cstdio>

#include "proxy/flags/tenant_directory.h"
#include "proxy/telemetry/log.h"
#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

using shadow::GuardState;

const char* to_string(DropReason r) {
  switch (r) {
    case DropReason::QueueFull: return "queue_full";
    case DropReason::NoCredentials: return "no_credentials";
    case DropReason::TargetDown: return "target_down";
    case DropReason::Deadline: return "deadline";
    case DropReason::Error: return "error";
    case DropReason::NotComparable: return "not_comparable";
    case DropReason::TooLarge: return "too_large";
    case DropReason::Unsettled: return "unsettled";
  }
  return "unknown";
}

namespace {
std::string rate_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", r);
  return buf;
}

config::Phase previous(config::Phase p) {
  switch (p) {
    case config::Phase::Cleanup: return config::Phase::ReadSwitch;
    case config::Phase::ReadSwitch: return config::Phase::DualWrite;
    case config::Phase::DualWrite: return config::Phase::Observe;
    default: return config::Phase::Off;
  }
}
}  // namespace

ShadowService::ShadowService(Metrics& metrics, TenantDirectory& directory) : metrics_(metrics), directory_(directory) {}

Histogram& ShadowService::duration() { return metrics_.shadow_duration(); }

ShadowCounters ShadowService::counters(const std::string& tenant) {
  ShadowCounters c;
  c.compared = &metrics_.counter("shadow_compared_total", {{"tenant", tenant}});
  c.mismatches = &metrics_.counter("shadow_mismatches_total", {{"tenant", tenant}});
  c.noise = &metrics_.counter("shadow_noise_total", {{"tenant", tenant}});
  c.answers_kept = &metrics_.counter("shadow_answers_kept_total", {{"tenant", tenant}});
  for (size_t i = 0; i < kDropReasons; ++i)
    c.dropped[i] = &metrics_.counter("shadow_dropped_total",
                                     {{"tenant", tenant}, {"reason", to_string(static_cast<DropReason>(i))}});
  return c;
}

void ShadowService::set_gauge(const std::string& tenant, GuardState s) {
  metrics_.gauge("guard_state", {{"tenant", tenant}}).store(static_cast<int>(s), std::memory_order_relaxed);
}

void ShadowService::judged(const std::string& tenant, shadow::TenantGuard& guard, const config::Guard& settings,
                           std::optional<shadow::MismatchRecord> evidence) {
  const bool mismatch = evidence.has_value();
  if (evidence) {
    auto members = shadow::to_json(*evidence);
    log::Event(log::Level::warn, "shadow_mismatch").category("STATUS_MISMATCH").raw("mismatch", members)
        .str("tenant", tenant).str("fingerprint", evidence->fingerprint);
    mismatches_.push(std::move(*evidence));
  }
  history_.record(tenant, mismatch, shadow::RateHistory::Clock::now());
  auto u = guard.record(mismatch, settings, shadow::Guard::Clock::now());
  if (!u.changed) return;
  set_gauge(tenant, *u.changed);
  switch (*u.changed) {
    case GuardState::Ok:
      log::Event(log::Level::info, "guard_ok").category("GUARD_OK").str("tenant", tenant).str("rate", rate_text(u.rate))
          .num("samples", static_cast<int64_t>(u.samples));
      break;
    case GuardState::Warn:
      log::Event(log::Level::warn, "guard_warn").category("GUARD_WARN").str("tenant", tenant)
          .str("rate", rate_text(u.rate)).str("warn_mismatch_rate", rate_text(settings.warn_mismatch_rate))
          .num("samples", static_cast<int64_t>(u.samples)).num("mismatches", static_cast<int64_t>(u.mismatches));
      break;
    case GuardState::Tripped:
      if (off_path_) off_path_([this, tenant, u] { trip(tenant, u); });
      else trip(tenant, u);
      break;
  }
}

void ShadowService::trip(const std::string& tenant, const shadow::GuardUpdate& u) {
  auto state = directory_.current()->find(tenant);
  if (!state) return;
  const auto& cfg = state->cfg;
  FlagChange change;
  const bool rollback = cfg.guard.on_critical == config::OnCritical::Rollback;
  // SPEC: rollback moves the tenant and its canary one phase back, so canary
  // sessions keep the same lead over the rest (a read_switch canary goes back
  // to dual_write, not two steps to the tenant's new phase); freeze stops the
  // canary (percent 0) and keeps every phase. A canary with no phase of its
  // own has nothing to step back, so a rollback stops it too.
  if (rollback && cfg.phase != config::Phase::Off) change.phase = previous(cfg.phase);
  if (rollback && cfg.canary.phase && *cfg.canary.phase != config::Phase::Off)
    change.canary.phase = std::optional<config::Phase>(previous(*cfg.canary.phase));
  else
    change.canary.percent = 0.0;
  auto r = directory_.apply(tenant, change, "guard");
  metrics_.counter("guard_trips_total", {{"tenant", tenant}}).fetch_add(1, std::memory_order_relaxed);
  auto after = directory_.current()->find(tenant);
  log::Event(r.status == 200 ? log::Level::err : log::Level::critical, "guard_trip").category("GUARD_TRIP")
      .str("tenant", tenant).str("action", rollback ? "rollback" : "freeze")
      .str("phase_from", config::to_string(cfg.phase))
      .str("phase_to", config::to_string(after ? after->cfg.phase : cfg.phase))
      .str("canary_from", describe_canary(cfg.canary))
      .str("canary_to", after ? describe_canary(after->cfg.canary) : "none")
      .str("rate", rate_text(u.rate)).str("lower_bound", rate_text(u.lower_bound))
      .str("critical_mismatch_rate", rate_text(cfg.guard.critical_mismatch_rate))
      .num("samples", static_cast<int64_t>(u.samples)).num("mismatches", static_cast<int64_t>(u.mismatches))
      .num("status", r.status).str("error", r.error);
  if (r.status == 200 && trip_sink_)
    trip_sink_(tenant, change,
               std::string(rollback ? "rollback" : "freeze") + ": mismatch rate " + rate_text(u.rate) +
                   " (lower bound " + rate_text(u.lower_bound) + ") over " + std::to_string(u.samples) +
                   " samples, critical_mismatch_rate " + rate_text(cfg.guard.critical_mismatch_rate));
}

bool ShadowService::timed(const std::string& tenant, const std::string& fingerprint, const std::string& sql,
                          const std::string& switched_sql, std::chrono::microseconds legacy,
                          std::chrono::microseconds switched) {
  return latency_.record(tenant, fingerprint, sql, switched_sql, static_cast<uint64_t>(legacy.count()),
                         static_cast<uint64_t>(switched.count()), shadow::LatencyBook::Clock::now());
}

void ShadowService::explained(const std::string& tenant, const std::string& fingerprint, std::string legacy_plan,
                              std::string switched_plan, std::string at) {
  latency_.explained(tenant, fingerprint, legacy_plan, switched_plan, at);
  auto slow = latency_.slow(tenant);
  metrics_.gauge("shadow_slow_reads", {{"tenant", tenant}}).store(static_cast<uint64_t>(slow.size()),
                                                                   std::memory_order_relaxed);
  for (const auto& r : slow) {
    if (r.fingerprint != fingerprint) continue;
    log::Event(log::Level::warn, "slow_read").category("SLOW_READ").str("tenant", tenant)
        .str("fingerprint", fingerprint).str("sql", r.sql).str("switched_sql", r.switched_sql)
        .num("samples", static_cast<int64_t>(r.samples))
        .num("legacy_p50_us", static_cast<int64_t>(r.legacy_p50)).num("legacy_p99_us", static_cast<int64_t>(r.legacy_p99))
        .num("switched_p50_us", static_cast<int64_t>(r.switched_p50))
        .num("switched_p99_us", static_cast<int64_t>(r.switched_p99)).str("ratio", rate_text(r.ratio))
        .str("legacy_explain", legacy_plan).str("switched_explain", switched_plan);
  }
}

void ShadowService::operator_changed(const std::string& tenant) {
  auto before = guards_.state(tenant);
  if (!guards_.clear(tenant)) return;
  set_gauge(tenant, GuardState::Ok);
  if (before && *before != GuardState::Ok)
    log::Event(log::Level::info, "guard_cleared").category("GUARD_CLEARED").str("tenant", tenant)
        .str("was", shadow::to_string(*before));
}

}  // namespace sy::proxy
