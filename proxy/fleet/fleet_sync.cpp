#include "proxy/fleet/fleet_sync.h"

#include <rapidjson/document.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <ctime>

#include "proxy/fleet/store_connection.h"
#include "proxy/net/task_group.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/shadow/shadow_service.h"
#include "proxy/telemetry/log.h"
#include "proxy/telemetry/metrics.h"

namespace sy::proxy::fleet {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Params = std::vector<std::optional<std::string>>;

namespace {

Dialect dialect_of(const config::Config& cfg) {
  const auto* l = cfg.flags_store_listener();
  return l && l->protocol == config::Protocol::Mysql ? Dialect::Mysql : Dialect::Postgres;
}

std::string utc_now() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t to_u64(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }

StoreRow to_row(const TextRow& r) {
  StoreRow row;
  row.tenant = r.size() > 0 && r[0] ? *r[0] : "";
  row.version = r.size() > 1 ? to_u64(r[1]) : 0;
  row.overrides = r.size() > 2 && r[2] ? *r[2] : "{}";
  row.who = r.size() > 3 && r[3] ? *r[3] : "";
  return row;
}

// Embeds a stored JSON document as a value (a row the store holds as text).
void write_raw_json(JsonWriter& w, const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError()) write_string(w, json);
  else d.Accept(w);
}

asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer t(io);
  t.expires_after(d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Built outside the coroutines: GCC 12 miscompiles braced temporaries that live across a co_await.
template <class... A>
Params params(const A&... a) {
  Params p;
  (p.emplace_back(std::string(a)), ...);
  return p;
}

void count_write(Metrics* m, const char* outcome) {
  if (m) m->counter("flags_store_writes_total", {{"outcome", outcome}}).fetch_add(1, std::memory_order_relaxed);
}

const char* guard_name(shadow::GuardState s) {
  switch (s) {
    case shadow::GuardState::Ok: return "ok";
    case shadow::GuardState::Warn: return "warn";
    case shadow::GuardState::Tripped: return "tripped";
  }
  return "ok";
}

}  // namespace

FleetSync::FleetSync(asio::io_context& io, FleetDeps deps)
    : io_(io), deps_(std::move(deps)), sql_(dialect_of(*deps_.cfg), deps_.cfg->flags_store->table) {
  if (deps_.metrics) {
    deps_.metrics->gauge("flags_store_up", {}).store(0, std::memory_order_relaxed);
    deps_.metrics->gauge("flags_store_version", {}).store(0, std::memory_order_relaxed);
    deps_.metrics->gauge("flags_version_applied", {}).store(0, std::memory_order_relaxed);
  }
}

FleetSync::~FleetSync() = default;

std::unique_ptr<StoreConnection> FleetSync::make_connection() const {
  const auto* l = deps_.cfg->flags_store_listener();
  OwnedConnectionOptions o;
  // A PATCH waits on these while the store is down: short, so it answers 503 soon.
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.query_timeout = std::chrono::milliseconds(5000);
  return std::make_unique<StoreConnection>(io_.get_executor(), l->protocol, *l->target(deps_.cfg->flags_store->target),
                                           o);
}

asio::awaitable<std::unique_ptr<StoreConnection>> FleetSync::writer(std::string& error) {
  // One query at a time per connection: a second writer meanwhile opens its own.
  auto c = std::move(idle_writer_);
  if (c && c->usable()) co_return c;
  c = make_connection();
  auto e = co_await c->connect();
  if (e) {
    error = e->message;
    store_down(e->message);
    c.reset();
  }
  co_return c;
}

void FleetSync::give_back(std::unique_ptr<StoreConnection> c) {
  if (c && c->usable() && !idle_writer_) idle_writer_ = std::move(c);
}

uint64_t FleetSync::applied_version(const std::string& tenant) const {
  auto it = applied_.find(tenant);
  return it == applied_.end() ? 0 : it->second;
}

uint64_t FleetSync::applied_sum() const {
  uint64_t sum = 0;
  for (const auto& [_, v] : applied_) sum += v;
  return sum;
}

void FleetSync::store_up() {
  if (!up_)
    log::Event(log::Level::info, "flags_store_up").str("target", deps_.cfg->flags_store->target)
        .str("table", sql_.table()).str("sidecar", deps_.sidecar_id);
  up_ = true;
  reached_ = true;
  down_error_.clear();
  if (deps_.metrics) deps_.metrics->gauge("flags_store_up", {}).store(1, std::memory_order_relaxed);
}

void FleetSync::store_down(const std::string& why) {
  if (up_ || down_since_.empty()) {
    down_since_ = utc_now();
    log::Event(log::Level::warn, "flags_store_down").str("target", deps_.cfg->flags_store->target)
        .str("table", sql_.table()).str("error", why)
        .str("serving", reached_ ? "the flags last applied from the store"
                                 : "the config file and state_file (the store was not reached since start-up)")
        .num("flags_version_applied", static_cast<int64_t>(applied_sum()));
  }
  up_ = false;
  down_error_ = why;
  if (deps_.metrics) deps_.metrics->gauge("flags_store_up", {}).store(0, std::memory_order_relaxed);
}

asio::awaitable<WriteOutcome> FleetSync::write(std::string tenant, FlagChange change, std::string who, std::string why,
                                               std::optional<uint64_t> expected) {
  if (!expected) expected = applied_version(tenant);
  std::string error;
  auto c = co_await writer(error);
  if (!c) {
    WriteOutcome out;
    out.status = 503;
    out.error = "flags store unreachable, change not applied: " + error;
    co_return out;
  }
  auto out = co_await write_on(*c, tenant, change, who, why, expected);
  give_back(std::move(c));
  co_return out;
}

asio::awaitable<WriteOutcome> FleetSync::write_on(StoreConnection& c, const std::string& tenant,
                                                  const FlagChange& change, const std::string& who,
                                                  const std::string& why, std::optional<uint64_t> expected) {
  WriteOutcome out;
  auto dir = deps_.directory->current();
  const config::Tenant* file = nullptr;
  for (const auto& t : dir->config->tenants)
    if (t.name == tenant) file = &t;
  if (!file) {
    out.status = 404;
    out.error = "no tenant named \"" + tenant + "\"";
    co_return out;
  }
  auto failed = [&](const BackendError& e) {
    store_down(e.message);
    out.status = 503;
    out.error = "flags store: " + e.message + "; change not applied";
    count_write(deps_.metrics, "error");
  };
  auto read = co_await c.query(sql_.select_row(), params(tenant));
  if (read.error) {
    failed(*read.error);
    co_return out;
  }
  std::optional<StoreRow> row;
  if (!read.rows.empty()) row = to_row(read.rows.front());
  const uint64_t at = row ? row->version : 0;
  auto conflict = [&](std::optional<StoreRow> now) {
    out.status = 409;
    out.error = "conflict: tenant " + tenant + " is at version " + std::to_string(now ? now->version : 0) +
                " in the flags store, the change expected version " + std::to_string(expected.value_or(at)) +
                "; nothing was changed (look at the current state and try again)";
    out.current = std::move(now);
    count_write(deps_.metrics, "conflict");
  };
  if (expected && *expected != at) {
    conflict(row);
    co_return out;
  }
  auto plan = plan_write(*dir->config, *file, row ? &*row : nullptr, change);
  if (plan.result.status != 200) {
    out.status = plan.result.status;
    out.error = plan.result.error;
    out.details = plan.result.details;
    if (out.status == 409) out.current = row;
    co_return out;
  }
  auto begun = co_await c.query(sql_.begin());
  if (begun.error) {
    failed(*begun.error);
    co_return out;
  }
  QueryResult cas;
  if (at == 0) cas = co_await c.query(sql_.cas_insert(), params(tenant, plan.to_json, who, why));
  else cas = co_await c.query(sql_.cas_update(), params(plan.to_json, who, why, tenant, std::to_string(at)));
  if (cas.error || cas.affected != 1) {
    auto rolled = co_await c.query("ROLLBACK");
    (void)rolled;
    if (cas.error) {
      failed(*cas.error);
      co_return out;
    }
    // Someone else changed the row between our read and our write.
    auto again = co_await c.query(sql_.select_row(), params(tenant));
    std::optional<StoreRow> now;
    if (!again.error && !again.rows.empty()) now = to_row(again.rows.front());
    conflict(now);
    co_return out;
  }
  const uint64_t version = at + 1;
  auto history = co_await c.query(sql_.insert_history(), params(tenant, std::to_string(version), who, deps_.sidecar_id,
                                                                 plan.from_json, plan.to_json, why));
  std::optional<BackendError> error = history.error;
  if (!error && c.postgres()) {
    auto notified = co_await c.query(sql_.notify(), params(tenant + " " + std::to_string(version)));
    error = notified.error;
  }
  if (!error) {
    auto committed = co_await c.query("COMMIT");
    error = committed.error;
  }
  if (error) {
    if (c.usable()) {
      auto rolled = co_await c.query("ROLLBACK");
      (void)rolled;
    }
    failed(*error);
    co_return out;
  }
  store_up();
  count_write(deps_.metrics, "ok");
  out.version = version;
  out.details = plan.result.details;
  // The store holds it: apply here now (the other sidecars on their next poll or NOTIFY).
  auto local = deps_.directory->apply(tenant, replace_with(plan.next), who);
  if (local.status == 200) {
    applied_[tenant] = std::max(applied_version(tenant), version);
    if (deps_.metrics) deps_.metrics->gauge("flags_version_applied", {}).store(applied_sum());
  } else {
    // In the store (the other sidecars follow), not here: said in the answer, and retried at every poll.
    out.details.push_back("written to the flags store (version " + std::to_string(version) +
                          ") but not applied on this sidecar: " + local.error);
    log::Event(log::Level::err, "flags_store_not_applied").str("tenant", tenant).num("version", int64_t(version))
        .str("error", local.error);
  }
  log::Event(log::Level::info, "flags_store_write").str("tenant", tenant).num("version", int64_t(version))
      .str("who", who).str("why", why).str("from", plan.from_json).str("to", plan.to_json);
  co_return out;
}

void FleetSync::guard_tripped(std::string tenant, FlagChange change, std::string why) {
  guard_writes_.push_back({std::move(tenant), std::move(change), std::move(why)});
  spawn_logged(io_.get_executor(), "flags_store_guard_write", [this] { return flush_guard_trips(); });
}

asio::awaitable<void> FleetSync::flush_guard_trips() {
  if (flushing_ || guard_writes_.empty()) co_return;
  flushing_ = true;
  while (!guard_writes_.empty()) {
    auto next = guard_writes_.front();
    std::string error;
    auto c = co_await writer(error);
    if (!c) break;  // still down: run() tries again after its next reconnect
    WriteOutcome out;
    // A conflict means someone wrote meanwhile: read again and lay the trip on that.
    for (int attempt = 0; attempt < 20; ++attempt) {
      out = co_await write_on(*c, next.tenant, next.change, "guard", next.why, std::nullopt);
      if (out.status != 409) break;
    }
    give_back(std::move(c));
    if (out.status == 503) break;
    if (out.status != 200)
      log::Event(log::Level::critical, "flags_store_guard_not_written").category("GUARD_TRIP").str("tenant", next.tenant)
          .num("status", out.status).str("error", out.error);
    guard_writes_.erase(guard_writes_.begin());
  }
  flushing_ = false;
}

void FleetSync::rejected(const StoreRow& row, const std::string& why) {
  auto& logged = rejected_[row.tenant];
  if (logged == row.version) return;  // said once per version: the sidecar shows as lagging meanwhile
  logged = row.version;
  log::Event(log::Level::err, "flags_store_not_applied").str("tenant", row.tenant)
      .num("version", static_cast<int64_t>(row.version)).str("who", row.who).str("error", why);
  if (deps_.metrics) deps_.metrics->counter("flags_store_rejected_total", {{"tenant", row.tenant}}).fetch_add(1);
}

void FleetSync::apply_rows(const std::vector<StoreRow>& rows) {
  auto dir = deps_.directory->current();
  const auto& cfg = *dir->config;
  auto pending = [&](const std::string& tenant) {
    for (const auto& g : guard_writes_)
      if (g.tenant == tenant) return true;
    return false;
  };
  std::set<std::string> seen;
  for (const auto& row : rows) {
    seen.insert(row.tenant);
    // A trip not yet in the store stays applied; so does a newer version this sidecar wrote.
    if (pending(row.tenant) || applied_version(row.tenant) > row.version) continue;
    const config::Tenant* file = nullptr;
    for (const auto& t : cfg.tenants)
      if (t.name == row.tenant) file = &t;
    if (!file) {
      rejected(row, "no tenant of that name in this sidecar's config");
      continue;
    }
    auto decoded = decode_overrides(cfg, *file, row.overrides);
    if (!decoded.error.empty()) {
      rejected(row, decoded.error);
      continue;
    }
    auto state = dir->find(row.tenant);
    if (state && overrides_json(state->overrides) != overrides_json(decoded.overrides)) {
      auto r = deps_.directory->apply(row.tenant, replace_with(decoded.overrides), "flags_store:" + row.who);
      if (r.status != 200) {
        rejected(row, r.error);
        continue;
      }
      log::Event(log::Level::info, "flags_store_applied").str("tenant", row.tenant)
          .num("version", static_cast<int64_t>(row.version)).str("who", row.who).str("to", row.overrides);
      // An operator acted on the tenant somewhere in the fleet: a tripped guard lets go, as for a PATCH here.
      if (row.who != "guard" && deps_.shadow) deps_.shadow->operator_changed(row.tenant);
    }
    applied_[row.tenant] = row.version;
  }
  // The store is the fleet's truth: a tenant without a row has no runtime overrides.
  for (const auto& state : dir->tenants) {
    const auto& name = state->cfg.name;
    // applied_version > 0: this sidecar wrote a row that this (older) read does not show yet.
    if (seen.count(name) || pending(name) || state->overrides.empty() || applied_version(name) > 0) continue;
    auto r = deps_.directory->apply(name, replace_with(TenantOverrides{}), "flags_store");
    if (r.status == 200)
      log::Event(log::Level::info, "flags_store_applied").str("tenant", name).num("version", 0).str("to", "{}");
  }
  if (deps_.metrics) deps_.metrics->gauge("flags_version_applied", {}).store(applied_sum());
}

std::string FleetSync::heartbeat_guard_json() const {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  auto dir = deps_.directory->current();
  for (const auto& t : dir->tenants) {
    auto s = deps_.shadow ? deps_.shadow->guard_state(t->cfg.name) : std::nullopt;
    if (!s) continue;
    write_string(w, t->cfg.name);
    w.String(guard_name(*s));
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

asio::awaitable<bool> FleetSync::poll_once(StoreConnection& c) {
  auto read = co_await c.query(sql_.select_rows());
  if (read.error) {
    store_down(read.error->message);
    co_return false;
  }
  store_up();
  std::vector<StoreRow> rows;
  for (const auto& r : read.rows) rows.push_back(to_row(r));
  fleet_version_ = fleet_version(rows);
  if (deps_.metrics) deps_.metrics->gauge("flags_store_version", {}).store(fleet_version_);
  apply_rows(rows);

  uint64_t compared = 0, mismatches = 0;
  if (deps_.metrics) {
    for (const auto& s : deps_.metrics->snapshot("shadow_compared_total")) compared += static_cast<uint64_t>(s.value);
    for (const auto& s : deps_.metrics->snapshot("shadow_mismatches_total")) mismatches += static_cast<uint64_t>(s.value);
  }
  auto beat = co_await c.query(sql_.upsert_heartbeat(),
                               params(deps_.sidecar_id, std::to_string(applied_sum()), std::to_string(compared),
                                      std::to_string(mismatches), heartbeat_guard_json()));
  if (beat.error) {
    store_down(beat.error->message);
    co_return false;
  }
  auto fleet = co_await c.query(sql_.select_sidecars());
  if (fleet.error) {
    store_down(fleet.error->message);
    co_return false;
  }
  sidecars_.clear();
  for (const auto& r : fleet.rows) {
    SidecarRow s;
    s.id = r.size() > 0 && r[0] ? *r[0] : "";
    s.flags_version = r.size() > 1 ? to_u64(r[1]) : 0;
    s.compared = r.size() > 2 ? to_u64(r[2]) : 0;
    s.mismatches = r.size() > 3 ? to_u64(r[3]) : 0;
    s.guard = r.size() > 4 && r[4] ? *r[4] : "{}";
    s.age_seconds = r.size() > 5 && r[5] ? std::strtod(r[5]->c_str(), nullptr) : 0;
    sidecars_.push_back(std::move(s));
  }
  co_return true;
}

asio::awaitable<void> FleetSync::run(const std::atomic<bool>& stopping) {
  const auto poll = std::chrono::milliseconds(deps_.cfg->flags_store->poll_ms);
  std::unique_ptr<StoreConnection> c;
  while (!stopping) {
    if (!c || !c->usable()) {
      c = make_connection();
      auto e = co_await c->connect();
      if (!e && c->postgres()) {
        auto listened = co_await c->query(sql_.listen());
        e = listened.error;
      }
      if (e) {
        store_down(e->message);
        c.reset();
        co_await sleep_for(io_, poll);
        continue;
      }
    }
    co_await flush_guard_trips();
    auto polled = co_await poll_once(*c);
    if (!polled) {
      c.reset();
      co_await sleep_for(io_, poll);
      continue;
    }
    bool notified = false;
    auto lost = co_await c->wait_notified(Clock::now() + poll, notified);
    if (lost) {
      store_down(lost->message);
      c.reset();
    }
  }
}

asio::awaitable<std::pair<int, std::string>> FleetSync::history(std::string tenant) {
  if (!deps_.directory->current()->find(tenant)) {
    std::pair<int, std::string> none(404, "");
    co_return none;
  }
  std::string error;
  auto c = co_await writer(error);
  if (!c) {
    std::pair<int, std::string> down(503, "flags store unreachable: " + error);
    co_return down;
  }
  auto r = co_await c->query(sql_.select_history(), params(tenant));
  give_back(std::move(c));
  if (r.error) {
    store_down(r.error->message);
    std::pair<int, std::string> failed(503, "flags store: " + r.error->message);
    co_return failed;
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("tenant");
  write_string(w, tenant);
  w.Key("history");
  w.StartArray();
  for (const auto& row : r.rows) {
    auto col = [&](size_t i) { return i < row.size() && row[i] ? *row[i] : std::string(); };
    w.StartObject();
    w.Key("version");
    w.Uint64(std::strtoull(col(0).c_str(), nullptr, 10));
    w.Key("who");
    write_string(w, col(1));
    w.Key("sidecar");
    write_string(w, col(2));
    w.Key("at");
    write_string(w, col(3));
    w.Key("from");
    write_raw_json(w, col(4));
    w.Key("to");
    write_raw_json(w, col(5));
    w.Key("why");
    write_string(w, col(6));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::pair<int, std::string> ok(200, std::string(buf.GetString(), buf.GetSize()));
  co_return ok;
}

FleetSync::Snapshot FleetSync::snapshot() const {
  Snapshot s;
  s.up = up_;
  s.reached = reached_;
  s.error = down_error_;
  s.fleet_version = fleet_version_;
  s.applied = applied_sum();
  // Heartbeats come every poll while the store answers; five missed ones is gone (or cut off).
  double stale = std::max(10.0, 5.0 * deps_.cfg->flags_store->poll_ms / 1000.0);
  s.sidecars = view_fleet(sidecars_, fleet_version_, stale);
  return s;
}

void FleetSync::write_fleet(JsonWriter& w) const {
  auto s = snapshot();
  w.Key("sidecar");
  write_string(w, deps_.sidecar_id);
  w.Key("store");
  w.StartObject();
  w.Key("target");
  write_string(w, deps_.cfg->flags_store->target);
  w.Key("table");
  write_string(w, sql_.table());
  w.Key("up");
  w.Bool(s.up);
  if (!s.up) {
    w.Key("error");
    write_string(w, s.error);
    w.Key("since");
    write_string(w, down_since_);
  }
  w.EndObject();
  w.Key("fleet_version");
  w.Uint64(s.fleet_version);
  w.Key("applied_version");
  w.Uint64(s.applied);
  w.Key("sidecars");
  w.StartArray();
  for (const auto& v : s.sidecars) {
    w.StartObject();
    w.Key("id");
    write_string(w, v.row.id);
    w.Key("self");
    w.Bool(v.row.id == deps_.sidecar_id);
    w.Key("flags_version");
    w.Uint64(v.row.flags_version);
    w.Key("lagging");
    w.Bool(v.lagging);
    w.Key("behind");
    w.Uint64(v.behind);
    w.Key("compared");
    w.Uint64(v.row.compared);
    w.Key("mismatches");
    w.Uint64(v.row.mismatches);
    w.Key("guard");
    write_raw_json(w, v.row.guard);
    w.Key("heartbeat_age_seconds");
    w.Double(v.row.age_seconds);
    w.Key("stale");
    w.Bool(v.stale);
    w.EndObject();
  }
  w.EndArray();
}

std::string FleetSync::fleet_json() const {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_fleet(w);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::vector<std::string> FleetSync::notes() const {
  if (up_) return {};
  const auto& fs = *deps_.cfg->flags_store;
  std::string where = "flags store (target \"" + fs.target + "\", table " + fs.table + ")";
  if (!reached_)
    return {where + " not reached since start-up" + (down_error_.empty() ? "" : ": " + down_error_) +
            "; serving the config file and state_file"};
  return {where + " unreachable since " + down_since_ + ": " + down_error_ + "; serving the flags last applied (version " +
          std::to_string(applied_sum()) + "); PATCH answers 503 until it is back"};
}

}  // namespace sy::proxy::fleet
