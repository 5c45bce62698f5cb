#include "proxy/flags/tenant_directory.h"

#include <rapidjson/document.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "proxy/telemetry/log.h"
#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

using config::Phase;

std::string describe_canary(const config::Canary& c) {
  if (c.percent <= 0) return "none";
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.2f", c.percent);
  std::string what = c.phase ? config::to_string(*c.phase) : ("read_target=" + c.read_target);
  return what + "@" + pct + "%";
}

namespace {

std::string fmt_percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", p);
  return buf;
}

bool valid_percent(double p) { return std::isfinite(p) && p >= 0 && p <= 100 && std::fabs(p * 100 - std::round(p * 100)) < 1e-6; }

config::Tenant apply(config::Tenant t, const TenantOverrides& o) {
  if (o.phase) t.phase = *o.phase;
  if (o.canary) t.canary = *o.canary;
  if (o.read_target) t.read_target = *o.read_target;
  if (o.shadow_sample_percent && t.shadow) t.shadow->sample_percent = *o.shadow_sample_percent;
  return t;
}

// Drops overrides of settings the file itself changed between two loads.
void forget_changed(TenantOverrides& o, const config::Tenant& before, const config::Tenant& after) {
  if (before.phase != after.phase) o.phase.reset();
  if (!(before.canary == after.canary)) o.canary.reset();
  if (before.read_target != after.read_target) o.read_target.reset();
  if (!(before.shadow == after.shadow)) o.shadow_sample_percent.reset();
}

bool same_migrations(const config::Config& a, const config::Config& b, const config::Tenant& t) {
  for (const auto& name : t.migrations) {
    const auto* x = a.migration(name);
    const auto* y = b.migration(name);
    if (!x || !y || !(*x == *y)) return false;
  }
  return true;
}

std::string json_str(std::string_view s) {
  std::string out;
  log::append_json_string(out, s);
  return out;
}

std::string canary_json(const config::Canary& c) {
  std::string out = "{\"phase\":" + (c.phase ? json_str(config::to_string(*c.phase)) : std::string("null"));
  out += ",\"read_target\":" + json_str(c.read_target);
  out += ",\"percent\":" + fmt_percent(c.percent);
  out += ",\"sticky_by\":" + json_str(config::to_string(c.sticky_by)) + "}";
  return out;
}

std::string overrides_json(const TenantOverrides& o) {
  std::string out = "{";
  auto sep = [&] {
    if (out.size() > 1) out += ",";
  };
  if (o.phase) {
    sep();
    out += "\"phase\":" + json_str(config::to_string(*o.phase));
  }
  if (o.canary) {
    sep();
    out += "\"canary\":" + canary_json(*o.canary);
  }
  if (o.read_target) {
    sep();
    out += "\"read_target\":" + json_str(*o.read_target);
  }
  if (o.shadow_sample_percent) {
    sep();
    out += "\"shadow\":{\"sample_percent\":" + fmt_percent(*o.shadow_sample_percent) + "}";
  }
  return out + "}";
}

// Targets a tenant may read from: those of its listener, or of any listener.
bool known_target(const config::Config& cfg, const config::Tenant& t, const std::string& target) {
  for (const auto& l : cfg.listeners)
    if ((t.match.listener.empty() || t.match.listener == l.name) && l.target(target)) return true;
  return false;
}

// Validates one change (a PATCH body, or a tenant's entry in state_file)
// against the tenant; fills `o`. Nothing is applied unless all of it is valid.
ChangeResult parse_patch(const config::Config& cfg, const config::Tenant& t, const rapidjson::Value& doc,
                         TenantOverrides& o) {
  auto bad = [](std::string msg) { return ChangeResult{400, std::move(msg), {}}; };
  if (!doc.IsObject()) return bad("the body must be a JSON object");
  if (doc.ObjectEmpty()) return bad("nothing to change: give phase, canary, read_target or shadow");
  for (const auto& m : doc.GetObject()) {
    std::string key = m.name.GetString();
    const auto& v = m.value;
    if (key == "phase") {
      if (!v.IsString() || !config::parse_phase(v.GetString()))
        return bad("phase must be one of off, observe, dual_write, read_switch, cleanup");
      o.phase = config::parse_phase(v.GetString());
    } else if (key == "read_target") {
      if (!v.IsString()) return bad("read_target must be a string");
      if (*v.GetString() && !known_target(cfg, t, v.GetString()))
        return bad("read_target: no target named \"" + std::string(v.GetString()) + "\"");
      o.read_target = v.GetString();
    } else if (key == "canary") {
      if (!v.IsObject()) return bad("canary must be an object");
      config::Canary c = o.canary ? *o.canary : t.canary;
      for (const auto& cm : v.GetObject()) {
        std::string ck = cm.name.GetString();
        const auto& cv = cm.value;
        if (ck == "phase") {
          if (cv.IsNull()) {
            c.phase.reset();
          } else if (!cv.IsString() || !config::parse_phase(cv.GetString())) {
            return bad("canary.phase must be a phase name or null");
          } else {
            c.phase = config::parse_phase(cv.GetString());
          }
        } else if (ck == "percent") {
          if (!cv.IsNumber() || !valid_percent(cv.GetDouble()))
            return bad("canary.percent must be a number from 0 to 100 in steps of 0.01");
          c.percent = cv.GetDouble();
        } else if (ck == "sticky_by") {
          if (!cv.IsString() || !config::parse_sticky_by(cv.GetString()))
            return bad("canary.sticky_by must be session, user, client_addr or application_name");
          c.sticky_by = *config::parse_sticky_by(cv.GetString());
        } else if (ck == "read_target") {
          if (!cv.IsString()) return bad("canary.read_target must be a string");
          if (*cv.GetString() && !known_target(cfg, t, cv.GetString()))
            return bad("canary.read_target: no target named \"" + std::string(cv.GetString()) + "\"");
          c.read_target = cv.GetString();
        } else {
          return bad("unknown field canary." + ck);
        }
      }
      o.canary = c;
    } else if (key == "shadow") {
      if (!v.IsObject()) return bad("shadow must be an object");
      for (const auto& sm : v.GetObject()) {
        if (std::string_view(sm.name.GetString()) != "sample_percent")
          return bad("unknown field shadow." + std::string(sm.name.GetString()) + " (only sample_percent changes at run time)");
        if (!sm.value.IsNumber() || !valid_percent(sm.value.GetDouble()))
          return bad("shadow.sample_percent must be a number from 0 to 100 in steps of 0.01");
        if (!t.shadow) return bad("tenant " + t.name + " has no shadow configured");
        o.shadow_sample_percent = sm.value.GetDouble();
      }
    } else {
      return bad("unknown field " + key + " (phase, canary, read_target, shadow)");
    }
  }
  return {};
}

}  // namespace

std::shared_ptr<const TenantState> Directory::find(std::string_view name) const {
  for (const auto& t : tenants)
    if (t->cfg.name == name) return t;
  return nullptr;
}

std::shared_ptr<const TenantState> Directory::bind(const std::string& listener, std::string_view database,
                                                   std::string_view user, std::string_view application_name) const {
  for (const auto& t : tenants)
    if (t->cfg.match.matches(listener, database, user, application_name)) return t;
  return nullptr;
}

TenantDirectory::TenantDirectory(std::shared_ptr<const config::Config> cfg, Metrics* metrics) : metrics_(metrics) {
  std::lock_guard lock(write_mu_);
  auto initial = std::make_shared<Directory>();
  initial->config = cfg;
  current_.store(initial);
  load_state();
  publish(std::move(cfg), "startup");
}

void TenantDirectory::load_state() {
  const auto& path = current_.load()->config->state_file;
  if (path.empty()) return;
  std::ifstream in(path);
  if (!in) return;  // first start: no runtime changes yet
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(ss.str().c_str());
  auto* tenants = doc.IsObject() && doc.HasMember("tenants") ? &doc["tenants"] : nullptr;
  if (!tenants || !tenants->IsObject()) {
    log::Event(log::Level::err, "state_file_unreadable").str("path", path).str("error", "expected {\"tenants\": {...}}");
    return;
  }
  const auto& cfg = *current_.load()->config;
  for (const auto& m : tenants->GetObject()) {
    std::string name = m.name.GetString();
    const config::Tenant* t = nullptr;
    for (const auto& ct : cfg.tenants)
      if (ct.name == name) t = &ct;
    if (!t) {
      log::Event(log::Level::warn, "state_file_unknown_tenant").str("path", path).str("tenant", name);
      continue;
    }
    TenantOverrides o;
    if (m.value.IsObject() && m.value.ObjectEmpty()) continue;
    auto r = parse_patch(cfg, *t, m.value, o);
    if (r.status != 200) {
      log::Event(log::Level::err, "state_file_invalid").str("path", path).str("tenant", name).str("error", r.error);
      continue;
    }
    overrides_[name] = o;
  }
}

void TenantDirectory::publish(std::shared_ptr<const config::Config> cfg, const std::string& who) {
  auto prev = current_.load();
  auto next = std::make_shared<Directory>();
  next->config = cfg;
  next->version = prev->version + 1;
  for (const auto& t : cfg->tenants) {
    auto state = std::make_shared<TenantState>();
    auto it = overrides_.find(t.name);
    state->overrides = it == overrides_.end() ? TenantOverrides{} : it->second;
    state->cfg = apply(t, state->overrides);
    auto old = prev->find(t.name);
    // Keep the rewriter (and its warm cache) unless what its cached decisions
    // depend on changed: the migrations, on_unsupported, or match.database
    // (MySQL resolves unqualified tables there).
    if (old && prev->config && old->cfg.migrations == t.migrations && old->cfg.on_unsupported == t.on_unsupported &&
        old->cfg.match.database == t.match.database && same_migrations(*prev->config, *cfg, t))
      state->rewriter = old->rewriter;
    else
      state->rewriter = std::make_shared<rewrite::TenantRewriter>(*cfg, t);
    if (!old || old->cfg.phase != state->cfg.phase)
      log::Event(log::Level::info, "phase_change").category("PHASE_CHANGE").str("tenant", t.name).str("who", who)
          .str("field", "phase").str("from", old ? config::to_string(old->cfg.phase) : "none")
          .str("to", config::to_string(state->cfg.phase));
    if (old ? !(old->cfg.canary == state->cfg.canary) : state->cfg.canary.percent > 0)
      log::Event(log::Level::info, "phase_change").category("PHASE_CHANGE").str("tenant", t.name).str("who", who)
          .str("field", "canary").str("from", old ? describe_canary(old->cfg.canary) : "none")
          .str("to", describe_canary(state->cfg.canary));
    if (metrics_) {
      for (Phase p : {Phase::Off, Phase::Observe, Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup})
        metrics_->gauge("phase", {{"tenant", t.name}, {"phase", config::to_string(p)}})
            .store(p == state->cfg.phase ? 1 : 0, std::memory_order_relaxed);
      metrics_->value("canary_percent", {{"tenant", t.name}}).store(state->cfg.canary.percent, std::memory_order_relaxed);
    }
    next->tenants.push_back(std::move(state));
  }
  for (const auto& old : prev->tenants)
    if (!next->find(old->cfg.name))
      log::Event(log::Level::info, "phase_change").category("PHASE_CHANGE").str("tenant", old->cfg.name).str("who", who)
          .str("field", "phase").str("from", config::to_string(old->cfg.phase)).str("to", "removed");
  current_.store(std::shared_ptr<const Directory>(std::move(next)));
  version_.fetch_add(1, std::memory_order_release);
}

bool TenantDirectory::persist(std::string& error) const {
  const auto& path = current_.load()->config->state_file;
  if (path.empty()) return true;
  std::string out = "{\"tenants\":{";
  bool first = true;
  for (const auto& [name, o] : overrides_) {
    if (o.empty()) continue;
    if (!first) out += ",";
    first = false;
    out += json_str(name) + ":" + overrides_json(o);
  }
  out += "}}\n";
  // Write-then-rename: a crash never leaves a half-written state file.
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) {
      error = "cannot write " + tmp;
      return false;
    }
    f << out;
    f.flush();
    if (!f) {
      error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot replace " + path;
    return false;
  }
  return true;
}

ChangeResult TenantDirectory::reload(std::shared_ptr<const config::Config> next, const std::string& who) {
  std::lock_guard lock(write_mu_);
  auto prev = current_.load();
  ChangeResult r;
  if (!(prev->config->listeners == next->listeners))
    r.details.push_back("listener changes need a restart; the running listeners are unchanged");
  if (prev->config->admin.listen.has_value() != next->admin.listen.has_value() ||
      (prev->config->admin.listen && !(*prev->config->admin.listen == *next->admin.listen)))
    r.details.push_back("admin.listen changes need a restart");
  if (prev->config->runtime.workers != next->runtime.workers) r.details.push_back("runtime.workers changes need a restart");
  for (const auto& t : next->tenants) {
    auto it = overrides_.find(t.name);
    if (it == overrides_.end()) continue;
    for (const auto& old : prev->config->tenants)
      if (old.name == t.name) forget_changed(it->second, old, t);
  }
  // Listeners (and their targets) stay as running; everything else is new.
  auto merged = std::make_shared<config::Config>(*next);
  merged->listeners = prev->config->listeners;
  merged->admin = prev->config->admin;
  merged->runtime.workers = prev->config->runtime.workers;
  log::set_level(merged->runtime.log_level);
  publish(merged, who);
  std::string error;
  if (!persist(error)) r.details.push_back(error);
  for (const auto& d : r.details) log::Event(log::Level::warn, "reload_note").str("who", who).str("note", d);
  log::Event(log::Level::info, "config_reloaded").str("who", who).str("config", next->source)
      .num("tenants", int64_t(next->tenants.size()));
  return r;
}

ChangeResult TenantDirectory::patch(const std::string& tenant, std::string_view json_body, const std::string& who) {
  std::lock_guard lock(write_mu_);
  auto dir = current_.load();
  const config::Tenant* file_tenant = nullptr;
  for (const auto& t : dir->config->tenants)
    if (t.name == tenant) file_tenant = &t;
  if (!file_tenant) return {404, "no tenant named \"" + tenant + "\"", {}};
  rapidjson::Document doc;
  doc.Parse(json_body.data(), json_body.size());
  if (doc.HasParseError()) return {400, "the body is not valid JSON", {}};
  TenantOverrides o = overrides_[tenant];
  auto r = parse_patch(*dir->config, apply(*file_tenant, o), doc, o);
  if (r.status != 200) {
    if (overrides_[tenant].empty()) overrides_.erase(tenant);
    return r;
  }
  auto saved = overrides_[tenant];
  overrides_[tenant] = o;
  std::string error;
  if (!persist(error)) {
    // Not persisted means it would silently revert on restart: refuse it.
    overrides_[tenant] = saved;
    return {500, "change not applied: " + error, {}};
  }
  publish(dir->config, who);
  ChangeResult done;
  for (const auto& u : config::unapplied_settings(apply(*file_tenant, o))) {
    log::Event(log::Level::warn, "config_warning").str("tenant", tenant).str("who", who).str("warning", u.message);
    done.details.push_back(u.message);
  }
  return done;
}

std::string TenantDirectory::tenants_json(std::string_view only) const {
  auto dir = current_.load();
  std::string out = "{\"version\":" + std::to_string(dir->version) + ",\"tenants\":[";
  bool first = true;
  for (const auto& state : dir->tenants) {
    const auto& t = *state;
    if (!only.empty() && t.cfg.name != only) continue;
    if (!first) out += ",";
    first = false;
    out += "{\"name\":" + json_str(t.cfg.name);
    out += ",\"phase\":" + json_str(config::to_string(t.cfg.phase));
    out += ",\"canary\":" + canary_json(t.cfg.canary);
    out += ",\"read_target\":" + json_str(t.cfg.read_target);
    out += ",\"shadow\":" + (t.cfg.shadow ? "{\"target\":" + json_str(t.cfg.shadow->target) +
                                                 ",\"sample_percent\":" + fmt_percent(t.cfg.shadow->sample_percent) + "}"
                                           : std::string("null"));
    out += ",\"match\":{\"listener\":" + json_str(t.cfg.match.listener) + ",\"database\":" +
           json_str(t.cfg.match.database) + ",\"user\":" + json_str(t.cfg.match.user) +
           ",\"application_name\":" + json_str(t.cfg.match.application_name) + "}";
    out += ",\"migrations\":[";
    for (size_t k = 0; k < t.cfg.migrations.size(); ++k) out += (k ? "," : "") + json_str(t.cfg.migrations[k]);
    out += "],\"overrides\":" + overrides_json(t.overrides) + "}";
  }
  return out + "]}";
}

}  // namespace sy::proxy
