// The status page (GET /): one table of every tenant, then per tenant with
// shadow reads the phase ladder with the canary on it, the mismatch rate of
// the last hour as an inline SVG chart (no script, no library: the page is
// served by the proxy and must render anywhere), the guard, the latest
// mismatches with their diffs and the slow fingerprints with both EXPLAINs.
#include <cstdio>
#include <map>

#include "proxy/admin/admin_api.h"
#include "proxy/fleet/fleet_sync.h"
#include "proxy/shadow/shadow_service.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/telemetry/stats_sampler.h"

namespace sy::proxy {

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Every sidecar sharing the flags store, from this sidecar's last poll: the
// flags version each applied, which lag behind the store, and their shadow
// counts and guards (Prometheus has the fleet-wide rates).
std::string fleet_section(const fleet::FleetSync& f) {
  auto s = f.snapshot();
  std::string h = "<section class=\"tenant\" id=\"fleet\"><h2>fleet</h2><p>flags store ";
  h += s.up ? "<span class=\"guard-ok\">up</span>" : "<span class=\"guard-tripped\">down</span> <span class=\"muted\">" +
                                                          html_escape(s.error) + "</span>";
  h += " &middot; fleet flags version <b class=\"num\" id=\"fleet-version\">" + std::to_string(s.fleet_version) +
       "</b> &middot; this sidecar (" + html_escape(f.sidecar_id()) + ") applied <span class=\"num\">" +
       std::to_string(s.applied) + "</span></p>";
  h += "<table id=\"fleet-sidecars\"><tr><th>sidecar</th><th>flags version</th><th>state</th><th>compared</th>"
       "<th>mismatches</th><th>guard</th><th>last heartbeat</th></tr>\n";
  for (const auto& v : s.sidecars) {
    std::string state = v.stale ? "stale" : v.lagging ? "lagging" : "in step";
    std::string cls = v.stale ? "guard-warn" : v.lagging ? "guard-tripped" : "guard-ok";
    h += "<tr class=\"sidecar\" data-sidecar=\"" + html_escape(v.row.id) + "\" data-state=\"" + state + "\"><td>" +
         html_escape(v.row.id) + (v.row.id == f.sidecar_id() ? " <span class=\"muted\">(this one)</span>" : "") +
         "</td><td class=\"num\">" + std::to_string(v.row.flags_version) + "</td><td><span class=\"" + cls + "\">" +
         state + (v.lagging ? " (" + std::to_string(v.behind) + " behind)" : "") + "</span></td><td class=\"num\">" +
         std::to_string(v.row.compared) + "</td><td class=\"num\">" + std::to_string(v.row.mismatches) +
         "</td><td><code>" + html_escape(v.row.guard) + "</code></td><td class=\"num\">" + fixed(v.row.age_seconds, 1) +
         " s ago</td></tr>\n";
  }
  if (s.sidecars.empty()) h += "<tr><td colspan=\"7\" class=\"muted\">no heartbeats read yet</td></tr>\n";
  return h + "</table></section>\n";
}

constexpr config::Phase kLadder[] = {config::Phase::Observe, config::Phase::DualWrite, config::Phase::ReadSwitch,
                                     config::Phase::Cleanup};

// observe → dual_write → read_switch → cleanup, the tenant's phase marked
// "current", steps behind it "done", and the canary's phase carrying a badge.
std::string ladder(const config::Tenant& c) {
  std::string h = "<ol class=\"ladder\">";
  bool passed = c.phase != config::Phase::Off;
  for (auto p : kLadder) {
    std::string name = config::to_string(p);
    bool current = p == c.phase;
    if (current) passed = false;
    h += "<li class=\"step " + name + (current ? " current" : passed ? " done" : "") + "\" data-phase=\"" + name + "\">" +
         name;
    if (c.canary.phase == p && c.canary.percent > 0)
      h += " <span class=\"canary\" title=\"canary\">canary " + fixed(c.canary.percent, 2) + "%</span>";
    h += "</li>";
  }
  h += "</ol>";
  if (c.phase == config::Phase::Off) h += " <span class=\"muted\">(phase off)</span>";
  return h;
}

// One bar per minute, its height the mismatch rate (scaled to the hour's
// highest rate, at least 1 %); a minute without compares is a grey tick.
std::string rate_chart(const std::vector<shadow::MinuteCounts>& minutes) {
  constexpr int kW = 360, kH = 80, kBar = kW / 60;
  double top = 0.01;
  uint64_t compared = 0, mismatched = 0;
  for (const auto& m : minutes) {
    if (m.compared) top = std::max(top, static_cast<double>(m.mismatched) / m.compared);
    compared += m.compared;
    mismatched += m.mismatched;
  }
  std::string h = "<svg class=\"rate-chart\" width=\"" + std::to_string(kW) + "\" height=\"" + std::to_string(kH + 14) +
                  "\" viewBox=\"0 0 " + std::to_string(kW) + " " + std::to_string(kH + 14) +
                  "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>mismatch rate per minute, last hour: " +
                  std::to_string(mismatched) + " of " + std::to_string(compared) + " compares</title>";
  h += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(kW) + "\" height=\"" + std::to_string(kH) +
       "\" fill=\"#fff\" stroke=\"#e4e7eb\"/>";
  for (size_t i = 0; i < minutes.size(); ++i) {
    const auto& m = minutes[i];
    int x = static_cast<int>(i) * kBar;
    if (m.compared == 0) {
      h += "<rect class=\"idle\" x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kH - 1) + "\" width=\"" +
           std::to_string(kBar - 1) + "\" height=\"1\" fill=\"#d0d5dc\"/>";
      continue;
    }
    double rate = static_cast<double>(m.mismatched) / m.compared;
    int height = std::max(1, static_cast<int>(rate / top * (kH - 4)));
    h += "<rect class=\"minute\" x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kH - height) + "\" width=\"" +
         std::to_string(kBar - 1) + "\" height=\"" + std::to_string(height) + "\" fill=\"" +
         (m.mismatched ? "#dc2626" : "#16a34a") + "\"><title>" + std::to_string(minutes.size() - 1 - i) +
         " min ago: " + std::to_string(m.mismatched) + " of " + std::to_string(m.compared) + "</title></rect>";
  }
  h += "<text x=\"0\" y=\"" + std::to_string(kH + 12) + "\" font-size=\"10\" fill=\"#5b6675\">-60 min</text>";
  h += "<text x=\"" + std::to_string(kW) + "\" y=\"" + std::to_string(kH + 12) +
       "\" font-size=\"10\" fill=\"#5b6675\" text-anchor=\"end\">now · top " + fixed(100 * top, 2) + "%</text></svg>";
  return h;
}

std::string mismatch_list(const std::vector<shadow::MismatchRecord>& records) {
  if (records.empty()) return "<p class=\"muted none\">no mismatches</p>";
  std::string h = "<table class=\"mismatches\"><tr><th>at</th><th>statement</th><th>rows</th><th>diff</th></tr>";
  for (const auto& r : records)
    h += "<tr class=\"mismatch\"><td>" + html_escape(r.at) + "</td><td><code>" + html_escape(r.sql) + "</code></td><td>" +
         std::to_string(r.rows_a) + " / " + std::to_string(r.rows_b) + "</td><td><pre class=\"diff\">" +
         html_escape(r.diff) + "</pre></td></tr>";
  return h + "</table>";
}

std::string slow_list(const std::vector<shadow::SlowRead>& reads) {
  if (reads.empty()) return "<p class=\"muted none\">no slow fingerprints</p>";
  std::string h = "<table class=\"slow-reads\"><tr><th>statement</th><th>p50 legacy / switched</th>"
                  "<th>p99 legacy / switched</th><th>ratio</th><th>EXPLAIN</th></tr>";
  auto ms = [](double us) { return fixed(us / 1000, 2) + " ms"; };
  for (const auto& r : reads) {
    h += "<tr class=\"slow-read\" data-fingerprint=\"" + html_escape(r.fingerprint) + "\"><td><code>" +
         html_escape(r.sql) + "</code></td><td class=\"num\">" + ms(r.legacy_p50) + " / " + ms(r.switched_p50) +
         "</td><td class=\"num\">" + ms(r.legacy_p99) + " / " + ms(r.switched_p99) + "</td><td class=\"num\">" +
         fixed(r.ratio, 1) + "×</td><td>";
    if (r.explained_at.empty()) {
      h += "<span class=\"muted\">pending</span>";
    } else {
      h += "<details><summary>taken " + html_escape(r.explained_at) + "</summary><b>legacy</b><pre class=\"plan\">" +
           html_escape(r.legacy_plan) + "</pre><b>switched</b><pre class=\"plan\">" + html_escape(r.switched_plan) +
           "</pre></details>";
    }
    h += "</td></tr>";
  }
  return h + "</table>";
}

}  // namespace

AdminResponse AdminApi::status_page() const {
  auto dir = deps_.directory->current();
  auto rates = deps_.stats ? deps_.stats->statements_per_second() : std::map<std::string, double>{};
  // Rewrite outcomes per tenant, summed over migrations.
  std::map<std::string, std::map<std::string, double>> outcomes;
  for (const auto& s : deps_.metrics->snapshot("rewrites_total")) outcomes[s.label("tenant")][s.label("outcome")] += s.value;
  std::map<std::string, double> compared, mismatched;
  for (const auto& s : deps_.metrics->snapshot("shadow_compared_total")) compared[s.label("tenant")] += s.value;
  for (const auto& s : deps_.metrics->snapshot("shadow_mismatches_total")) mismatched[s.label("tenant")] += s.value;

  std::string h = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>switchyard</title>
<style>
 body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2530; background: #f6f7f9; }
 h1 { font-size: 1.4rem; margin: 0 0 .2rem; } .sub { color: #5b6675; margin-bottom: 1.2rem; }
 table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.12); min-width: 60rem; }
 th, td { padding: .55rem .9rem; text-align: left; border-bottom: 1px solid #e4e7eb; }
 th { background: #27313d; color: #fff; font-weight: 600; }
 .phase { display: inline-block; padding: .1rem .55rem; border-radius: .8rem; font-weight: 600; font-size: .85rem; }
 .off { background: #e4e7eb; } .observe { background: #dbeafe; } .dual_write { background: #fde68a; }
 .read_switch { background: #fdba74; } .cleanup { background: #bbf7d0; }
 .num { font-variant-numeric: tabular-nums; } .muted { color: #8792a2; }
 section.tenant { margin-top: 1.6rem; background: #fff; padding: .8rem 1.2rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
 section.tenant h2 { font-size: 1.1rem; margin: .2rem 0 .6rem; } section.tenant h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
 ol.ladder { list-style: none; display: flex; padding: 0; margin: 0; }
 ol.ladder li { padding: .3rem .9rem; margin-right: .3rem; background: #e4e7eb; border-radius: .3rem; color: #5b6675; }
 ol.ladder li.done { background: #cbd5e1; color: #1d2530; } ol.ladder li.current { background: #27313d; color: #fff; font-weight: 600; }
 .canary { background: #f59e0b; color: #1d2530; border-radius: .6rem; padding: 0 .4rem; font-size: .8rem; font-weight: 600; }
 pre { margin: 0; font-size: .8rem; white-space: pre-wrap; } section.tenant table { min-width: 0; box-shadow: none; }
 .guard-ok { color: #16a34a; font-weight: 600; } .guard-warn { color: #d97706; font-weight: 600; } .guard-tripped { color: #dc2626; font-weight: 600; }
</style></head><body>
<h1>switchyard</h1>
<div class="sub">status-column migration proxy &middot; config )" +
                  html_escape(dir->config->source) + " &middot; flags version " + std::to_string(dir->version) +
                  R"( &middot; refreshes every 5 s</div>
<table id="tenants">
<tr><th>tenant</th><th>phase</th><th>canary</th><th>statements/s</th><th>rewrite outcomes</th><th>shadow mismatch rate</th><th>guard</th><th>migrations</th></tr>
)";
  for (const auto& t : dir->tenants) {
    const auto& c = t->cfg;
    std::string phase = config::to_string(c.phase);
    h += "<tr><td><b>" + html_escape(c.name) + "</b>";
    if (!t->overrides.empty()) h += " <span class=\"muted\">(runtime flags)</span>";
    h += "</td><td><span class=\"phase " + phase + "\">" + phase + "</span></td><td>" +
         html_escape(describe_canary(c.canary)) + "</td>";
    auto rate = rates.find(c.name);
    h += "<td class=\"num\">" + (rate == rates.end() ? std::string("0.0") : fixed(rate->second, 1)) + "</td><td>";
    auto oc = outcomes.find(c.name);
    if (oc == outcomes.end()) {
      h += "<span class=\"muted\">none yet</span>";
    } else {
      bool first = true;
      for (const auto& [outcome, n] : oc->second) {
        h += (first ? "" : ", ") + html_escape(outcome) + " <span class=\"num\">" + fixed(n, 0) + "</span>";
        first = false;
      }
    }
    h += "</td><td class=\"num\">";
    double n = compared[c.name];
    h += n > 0 ? fixed(100.0 * mismatched[c.name] / n, 2) + "% of " + fixed(n, 0) : "<span class=\"muted\">no shadow reads</span>";
    h += "</td><td>";
    auto guard = deps_.shadow ? deps_.shadow->guard_state(c.name) : std::nullopt;
    h += guard ? std::string(shadow::to_string(*guard)) : "<span class=\"muted\">-</span>";
    h += "</td><td>";
    for (size_t i = 0; i < c.migrations.size(); ++i) h += (i ? ", " : "") + html_escape(c.migrations[i]);
    h += "</td></tr>\n";
  }
  if (dir->tenants.empty()) h += "<tr><td colspan=\"8\" class=\"muted\">no tenants configured: pure relay</td></tr>\n";
  h += "</table>\n";
  if (deps_.fleet) h += fleet_section(*deps_.fleet);
  for (const auto& t : dir->tenants) {
    const auto& c = t->cfg;
    h += "<section class=\"tenant\" id=\"tenant-" + html_escape(c.name) + "\"><h2>" + html_escape(c.name) + "</h2>" +
         ladder(c);
    if (!c.shadow || !deps_.shadow) {
      h += "<p class=\"muted\">no shadow reads configured</p></section>\n";
      continue;
    }
    auto guard = deps_.shadow->guard_state(c.name).value_or(shadow::GuardState::Ok);
    std::string g = shadow::to_string(guard);
    h += "<h3>mismatch rate, last hour</h3>" + rate_chart(deps_.shadow->rate_history(c.name));
    h += "<h3>guard</h3><span class=\"guard guard-" + g + "\">" + g + "</span> <span class=\"muted\">warn above " +
         fixed(100 * c.guard.warn_mismatch_rate, 2) + "%, critical above " +
         fixed(100 * c.guard.critical_mismatch_rate, 2) + "% (" + (c.guard.on_critical == config::OnCritical::Rollback ? "rollback" : "freeze") + ")</span>";
    h += "<h3>latest mismatches</h3>" + mismatch_list(deps_.shadow->latest_mismatches(c.name, 10));
    h += "<h3>slow fingerprints</h3>" + slow_list(deps_.shadow->slow_reads(c.name));
    h += "</section>\n";
  }
  h += "<p class=\"muted\">JSON: <a href=\"/v1/tenants\">/v1/tenants</a> &middot; <a href=\"/v1/mismatches\">/v1/mismatches</a> &middot; <a href=\"/v1/slow_reads\">/v1/slow_reads</a>" + std::string(deps_.fleet ? " &middot; <a href=\"/v1/fleet\">/v1/fleet</a>" : "") + " &middot; metrics: <a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";
  return {200, "text/html; charset=utf-8", h, {}};
}

}  // namespace sy::proxy
