#include "proxy/flags/tenant_directory.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "config/atomic_file.h"
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

void write_tenant(JsonWriter& w, const TenantState& t) {
  const auto& c = t.cfg;
  w.StartObject();
  w.Key("name");
  write_string(w, c.name);
  w.Key("phase");
  w.String(config::to_string(c.phase));
  w.Key("canary");
  write_canary(w, c.canary);
  w.Key("read_target");
  write_string(w, c.read_target);
  w.Key("shadow");
  if (c.shadow) {
    w.StartObject();
    w.Key("target");
    write_string(w, c.shadow->target);
    w.Key("sample_percent");
    w.Double(c.shadow->sample_percent);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("match");
  w.StartObject();
  for (auto [key, value] : {std::pair{"listener", &c.match.listener}, std::pair{"database", &c.match.database},
                            std::pair{"user", &c.match.user}, std::pair{"application_name", &c.match.application_name}}) {
    w.Key(key);
    write_string(w, *value);
  }
  w.EndObject();
  w.Key("migrations");
  w.StartArray();
  for (const auto& m : c.migrations) write_string(w, m);
  w.EndArray();
  w.Key("overrides");
  write_overrides(w, t.overrides);
  w.EndObject();
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
    if (m.value.IsObject() && m.value.ObjectEmpty()) continue;
    // The same decoder and rules as a PATCH: an entry the file's tenant no
    // longer accepts (say, a read_target since removed) is skipped, not applied.
    auto decoded = decode_flag_change(m.value);
    TenantOverrides o;
    auto r = decoded.error.empty() ? lay_change(cfg, *t, o, decoded.change) : ChangeResult{400, decoded.error, {}};
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
    state->cfg = with_overrides(t, state->overrides);
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
      for (Phase p : config::kPhases)
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

std::optional<std::string> TenantDirectory::persist() const {
  const auto& path = current_.load()->config->state_file;
  if (path.empty()) return std::nullopt;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("tenants");
  w.StartObject();
  for (const auto& [name, o] : overrides_) {
    if (o.empty()) continue;
    write_string(w, name);  // a key
    write_overrides(w, o);
  }
  w.EndObject();
  w.EndObject();
  std::string out(buf.GetString(), buf.GetSize());
  return config::write_file_atomically(path, out + "\n");
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
  if (prev->config->flags_store != next->flags_store) r.details.push_back("flags_store changes need a restart");
  // With a flags store the fleet's runtime flags live there and win over the
  // file (the file gives the settings they leave alone): dropping one here
  // would only flap until the next poll put it back.
  for (const auto& t : next->tenants) {
    if (prev->config->flags_store) break;
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
  merged->flags_store = prev->config->flags_store;
  log::set_level(merged->runtime.log_level);
  publish(merged, who);
  if (auto error = persist()) r.details.push_back(*error);
  for (const auto& d : r.details) log::Event(log::Level::warn, "reload_note").str("who", who).str("note", d);
  log::Event(log::Level::info, "config_reloaded").str("who", who).str("config", next->source)
      .num("tenants", int64_t(next->tenants.size()));
  return r;
}

ChangeResult TenantDirectory::apply(const std::string& tenant, const FlagChange& change, const std::string& who) {
  std::lock_guard lock(write_mu_);
  auto dir = current_.load();
  const config::Tenant* file_tenant = nullptr;
  for (const auto& t : dir->config->tenants)
    if (t.name == tenant) file_tenant = &t;
  if (!file_tenant) return {404, "no tenant named \"" + tenant + "\"", {}};
  auto it = overrides_.find(tenant);
  const TenantOverrides saved = it == overrides_.end() ? TenantOverrides{} : it->second;
  TenantOverrides next = saved;
  auto r = lay_change(*dir->config, *file_tenant, next, change);
  if (r.status != 200) return r;
  auto set_overrides = [&](const TenantOverrides& o) {
    if (o.empty()) overrides_.erase(tenant);
    else overrides_[tenant] = o;
  };
  set_overrides(next);
  if (auto error = persist()) {
    // Not persisted means it would silently revert on restart: refuse it.
    set_overrides(saved);
    return {500, "change not applied: " + *error, {}};
  }
  publish(dir->config, who);
  for (const auto& warning : r.details)
    log::Event(log::Level::warn, "config_warning").str("tenant", tenant).str("who", who).str("warning", warning);
  return r;
}

void TenantDirectory::write_tenants(JsonWriter& w, std::string_view only) const {
  auto dir = current_.load();
  w.Key("version");
  w.Uint64(dir->version);
  w.Key("tenants");
  w.StartArray();
  for (const auto& state : dir->tenants)
    if (only.empty() || state->cfg.name == only) write_tenant(w, *state);
  w.EndArray();
}

std::string TenantDirectory::tenants_json(std::string_view only) const {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_tenants(w, only);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace sy::proxy
