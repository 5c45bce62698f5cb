#include "proxy/shadow/shadow_runner.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "proxy/backends/owned_pg_connection.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/net/task_group.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/shadow/compare_plan.h"
#include "proxy/telemetry/log.h"

namespace sy::proxy {

namespace asio = boost::asio;
using config::Phase;

namespace {

constexpr std::string_view kBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr std::string_view kCommit = "COMMIT";

shadow::ResultSet result_set(QueryResult& q) {
  shadow::ResultSet r;
  r.columns.reserve(q.columns.size());
  for (const auto& c : q.columns) r.columns.push_back({c.name, shadow::pg_value_kind(c.type)});
  r.rows = std::move(q.rows);
  return r;
}

bool on_one_server(const config::Tenant& t, const config::Listener& l) {
  return t.shadow->target.empty() || t.shadow->target == l.primary;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace

struct ShadowRunner::TenantSlot {
  ShadowCounters counters;
  std::shared_ptr<shadow::TenantGuard> guard;
  uint32_t inflight = 0;  //!< queued and running on this worker
};

struct ShadowRunner::Job {
  ShadowRequest req;
  TenantSlot* slot = nullptr;
  Clock::time_point deadline;
};

struct ShadowRunner::Lane {
  explicit Lane(asio::any_io_executor ex) : wake(ex) {}
  asio::steady_timer wake;
  std::unique_ptr<OwnedPgConnection> primary, other;
};

struct ShadowRunner::Pool {
  config::Target primary;
  std::optional<config::Target> other;
  std::string database;
  std::deque<Job> queue;
  size_t lanes = 0;
  std::vector<asio::steady_timer*> idle;  //!< wake timers of lanes waiting for work
  Clock::time_point down_until{};
};

ShadowRunner::ShadowRunner(asio::io_context& io, ShadowService& service) : io_(io), service_(service) {}
ShadowRunner::~ShadowRunner() = default;

bool ShadowRunner::shadows(const config::Tenant& t, const config::Listener& l, Phase phase) {
  if (!t.shadow || !(t.shadow->sample_percent > 0) || l.protocol != config::Protocol::Postgres) return false;
  // The same server compares the legacy column with the unified one, which
  // both hold current values in dual_write and read_switch only.
  if (on_one_server(t, l)) return phase == Phase::DualWrite || phase == Phase::ReadSwitch;
  return phase == Phase::DualWrite || phase == Phase::ReadSwitch || phase == Phase::Cleanup;
}

ShadowRunner::TenantSlot& ShadowRunner::slot(const config::Tenant& t) {
  auto& s = tenants_[t.name];
  if (!s) {
    s = std::make_unique<TenantSlot>();
    s->counters = service_.counters(t.name);
    s->guard = service_.guard(t.name, t.guard);
  }
  return *s;
}

void ShadowRunner::count_drop(TenantSlot& s, DropReason reason) {
  s.counters.dropped[static_cast<size_t>(reason)]->fetch_add(1, std::memory_order_relaxed);
}

void ShadowRunner::drop(const std::string& tenant, DropReason reason) {
  auto it = tenants_.find(tenant);
  if (it != tenants_.end()) return count_drop(*it->second, reason);
  service_.counters(tenant).dropped[static_cast<size_t>(reason)]->fetch_add(1, std::memory_order_relaxed);
}

void ShadowRunner::submit(ShadowRequest r) {
  const auto& t = r.tenant->cfg;
  const auto& l = r.listener->cfg;
  auto& s = slot(t);
  const auto& fp = r.switched->fingerprint;
  if (book_.noisy(t.name, fp)) {
    s.counters.noise->fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool cross = !on_one_server(t, l);
  if (!cross && !shadow::not_comparable(*r.switched->read_shape, r.tenant->rewriter->migrations()).empty())
    return count_drop(s, DropReason::NotComparable);
  if (s.inflight >= t.shadow->max_inflight) return count_drop(s, DropReason::QueueFull);
  const config::Target* primary = l.target(l.primary);
  const config::Target* other = cross ? l.target(t.shadow->target) : nullptr;
  if (!primary || (cross && !other)) return count_drop(s, DropReason::TargetDown);
  if (primary->user.empty() || (other && other->user.empty())) return count_drop(s, DropReason::NoCredentials);

  std::string key = l.name + '\0' + r.database + '\0' + (other ? other->name : std::string());
  auto& pool = pools_[key];
  if (!pool) {
    pool = std::make_unique<Pool>();
    pool->primary = *primary;
    if (other) pool->other = *other;
    pool->database = r.database;
  }
  if (Clock::now() < pool->down_until) return count_drop(s, DropReason::TargetDown);
  ++s.inflight;
  auto deadline = Clock::now() + std::chrono::milliseconds(t.shadow->timeout_ms);
  pool->queue.push_back(Job{std::move(r), &s, deadline});
  if (!pool->idle.empty()) {
    pool->idle.back()->cancel();  // that lane takes it
    pool->idle.pop_back();
  } else if (pool->lanes < kLanesPerPool) {
    ++pool->lanes;
    Pool* p = pool.get();
    spawn_logged(io_.get_executor(), "shadow_lane", [this, p] { return lane(*p); });
  }
}

asio::awaitable<void> ShadowRunner::lane(Pool& pool) {
  Lane lane(io_.get_executor());
  for (;;) {
    if (pool.queue.empty()) {
      pool.idle.push_back(&lane.wake);
      lane.wake.expires_after(kLaneIdle);
      boost::system::error_code ec;
      co_await lane.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {  // idle for kLaneIdle, not woken
        std::erase(pool.idle, &lane.wake);
        if (pool.queue.empty()) break;
      }
      continue;
    }
    Job job = std::move(pool.queue.front());
    pool.queue.pop_front();
    try {
      co_await run(pool, lane, job);
    } catch (const std::exception& e) {
      log::Event(log::Level::err, "shadow_failed").str("tenant", job.req.tenant->cfg.name).str("error", e.what());
      count_drop(*job.slot, DropReason::Error);
    }
    --job.slot->inflight;
  }
  --pool.lanes;
}

asio::awaitable<bool> ShadowRunner::ready(Pool& pool, Lane& lane, bool other, Job& job) {
  auto& conn = other ? lane.other : lane.primary;
  if (conn && conn->usable()) co_return true;
  const auto& target = other ? *pool.other : pool.primary;
  OwnedConnectionOptions options;
  options.connect_timeout = std::chrono::milliseconds(job.req.tenant->cfg.shadow->timeout_ms);
  options.query_timeout = options.connect_timeout;  // the server's statement_timeout: a second more
  options.database = pool.database;
  options.application_name = "switchyard-shadow";
  conn = std::make_unique<OwnedPgConnection>(io_.get_executor(), target, options);
  auto error = co_await conn->connect();
  if (error) {
    conn.reset();
    pool.down_until = Clock::now() + kDownFor;
    bool credentials = error->message.find("password_env") != std::string::npos;
    log::Event(log::Level::warn, "shadow_connect_failed").str("tenant", job.req.tenant->cfg.name)
        .str("target", target.name).str("error", error->message);
    count_drop(*job.slot, credentials ? DropReason::NoCredentials : DropReason::TargetDown);
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> ShadowRunner::run(Pool& pool, Lane& lane, Job& job) {
  if (Clock::now() >= job.deadline) {
    count_drop(*job.slot, DropReason::Deadline);
    co_return;
  }
  if (Clock::now() < pool.down_until) {
    count_drop(*job.slot, DropReason::TargetDown);
    co_return;
  }
  bool connected = co_await ready(pool, lane, false, job);
  if (!connected) co_return;
  if (pool.other) {
    connected = co_await ready(pool, lane, true, job);
    if (!connected) co_return;
    co_await cross_target(pool, lane, job);
  } else {
    co_await same_server(lane, job);
  }
}

namespace {

// What went wrong with a pipeline, as a drop reason; nullopt when nothing did.
std::optional<DropReason> failure(const std::vector<QueryResult>& rs, std::chrono::steady_clock::time_point deadline,
                                  std::string& message) {
  for (const auto& r : rs)
    if (r.error) {
      message = r.error->message;
      if (std::chrono::steady_clock::now() >= deadline) return DropReason::Deadline;
      return r.error->connection_lost ? DropReason::TargetDown : DropReason::Error;
    }
  return std::nullopt;
}

}  // namespace

asio::awaitable<void> ShadowRunner::same_server(Lane& lane, Job& job) {
  const auto& r = job.req;
  const auto& t = r.tenant->cfg;
  const auto& fp = r.switched->fingerprint;
  const auto& shape = *r.switched->read_shape;
  // The client was served the original in dual_write, the switched form after.
  const bool served_original = r.phase == Phase::DualWrite;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool self = attempt == 1 || book_.wants_self_check(t.name, fp);
    std::vector<PgStatement> st{{kBegin}, {r.original, &r.params}, {r.switched->sql, &r.params}};
    if (self) st.push_back({served_original ? std::string_view(r.original) : std::string_view(r.switched->sql), &r.params});
    st.push_back({kCommit});
    auto rs = co_await lane.primary->pipeline(std::move(st), job.deadline);
    std::string message;
    if (auto reason = failure(rs, job.deadline, message)) {
      // The original failing is the client's own error; the switched form
      // failing alone would be the switch's, and is worth a line.
      bool switch_failed = !rs[1].error && rs[2].error && !rs[2].error->connection_lost;
      log::Event(switch_failed ? log::Level::warn : log::Level::debug, "shadow_error").str("tenant", t.name)
          .str("fingerprint", fp).str("error", message).str("form", switch_failed ? "switched" : "any");
      count_drop(*job.slot, *reason);
      co_return;
    }
    auto legacy = result_set(rs[1]);
    auto unified = result_set(rs[2]);
    auto options = shadow::compare_options(shape, r.tenant->rewriter->migrations(), t.shadow->ignore_columns,
                                           legacy.columns, shadow::limit_of(shape, r.params.values, r.params.formats));
    if (self) {
      auto again = result_set(rs[3]);
      bool differed = !shadow::compare(served_original ? legacy : unified, again, options).equal;
      book_.self_checked(t.name, fp, differed);
      if (differed) {
        noise(job);
        co_return;
      }
    }
    // Another lane may have found this fingerprint noisy meanwhile.
    if (book_.noisy(t.name, fp)) {
      noise(job);
      co_return;
    }
    auto c = shadow::compare(legacy, unified, options);
    const bool explain = service_.timed(t.name, fp, r.original, r.switched->sql, rs[1].elapsed, rs[2].elapsed);
    // A mismatch is seen once more, in a new snapshot and with a self-check,
    // before it counts: a volatile query that agreed with itself by chance
    // at first is caught as noise there.
    if (!c.equal && !self && book_.may_recheck(t.name, fp)) continue;
    std::vector<std::string> rows;
    for (const auto& d : c.diffs) rows.push_back(d.key);
    verdict(job, "legacy vs unified", c.equal, c.equal ? "" : c.describe("legacy", "unified"), c.rows_a, c.rows_b,
            std::move(rows));
    if (explain) co_await explain_both(lane, job);
    co_return;
  }
}

asio::awaitable<void> ShadowRunner::cross_target(Pool& pool, Lane& lane, Job& job) {
  const auto& r = job.req;
  const auto& t = r.tenant->cfg;
  const auto& fp = r.switched->fingerprint;
  const auto& shape = *r.switched->read_shape;
  const std::string_view served = r.phase == Phase::DualWrite ? std::string_view(r.original) : r.switched->sql;
  const std::string compared = "primary vs " + pool.other->name;
  auto once = [&](std::unique_ptr<OwnedPgConnection>& conn) -> asio::awaitable<std::vector<QueryResult>> {
    std::vector<PgStatement> st{{kBegin}, {served, &r.params}, {kCommit}};
    co_return co_await conn->pipeline(std::move(st), job.deadline);
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto on_primary = co_await once(lane.primary);
    auto on_other = co_await once(lane.other);
    std::string message;
    auto reason = failure(on_primary, job.deadline, message);
    if (!reason) reason = failure(on_other, job.deadline, message);
    if (reason) {
      log::Event(log::Level::debug, "shadow_error").str("tenant", t.name).str("fingerprint", fp).str("error", message);
      count_drop(*job.slot, *reason);
      co_return;
    }
    auto a = result_set(on_primary[1]);
    auto b = result_set(on_other[1]);
    auto options = shadow::compare_options(shape, r.tenant->rewriter->migrations(), t.shadow->ignore_columns,
                                           a.columns, shadow::limit_of(shape, r.params.values, r.params.formats));
    if (attempt == 0 && book_.wants_self_check(t.name, fp)) {
      // Another snapshot, another now(): across servers both differ anyway.
      auto again = co_await once(lane.primary);
      if (failure(again, job.deadline, message)) {
        count_drop(*job.slot, DropReason::Error);
        co_return;
      }
      auto a2 = result_set(again[1]);
      bool differed = !shadow::compare(a, a2, options).equal;
      book_.self_checked(t.name, fp, differed);
      if (differed) {
        noise(job);
        co_return;
      }
    }
    if (book_.noisy(t.name, fp)) {
      noise(job);
      co_return;
    }
    auto c = shadow::compare(a, b, options);
    if (!c.equal && attempt == 0) {
      // Another server lags or leads by a moment: look again once, shortly after.
      auto left = job.deadline - Clock::now();
      auto pause = std::min<Clock::duration>(std::chrono::milliseconds(250), left / 2);
      if (pause > Clock::duration::zero()) {
        asio::steady_timer timer(io_.get_executor(), pause);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    std::vector<std::string> rows;
    for (const auto& d : c.diffs) rows.push_back(d.key);
    verdict(job, compared, c.equal, c.equal ? "" : c.describe("primary", pool.other->name), c.rows_a, c.rows_b,
            std::move(rows));
    co_return;
  }
}

asio::awaitable<void> ShadowRunner::explain_both(Lane& lane, Job& job) {
  const auto& r = job.req;
  const auto& t = r.tenant->cfg;
  // Its own deadline: the shadow's may be nearly spent, and a plan is cheap.
  auto deadline = Clock::now() + std::chrono::milliseconds(t.shadow->timeout_ms);
  std::string legacy = "EXPLAIN " + r.original, switched = "EXPLAIN " + r.switched->sql;
  std::vector<PgStatement> st{{legacy, &r.params}, {switched, &r.params}};
  auto rs = co_await lane.primary->pipeline(std::move(st), deadline);
  auto plan = [](const QueryResult& q) {
    if (q.error) return "EXPLAIN failed: " + q.error->message;
    std::string text;
    for (const auto& row : q.rows)
      for (const auto& v : row) {
        if (!text.empty()) text.push_back('\n');
        if (v) text += *v;
      }
    return text;
  };
  service_.explained(t.name, r.switched->fingerprint, plan(rs[0]), plan(rs[1]), utc_now());
}

void ShadowRunner::noise(Job& job) {
  const auto& t = job.req.tenant->cfg;
  job.slot->counters.noise->fetch_add(1, std::memory_order_relaxed);
  log::Event(log::Level::info, "shadow_noise").category("SHADOW_NOISE").str("tenant", t.name)
      .str("fingerprint", job.req.switched->fingerprint).str("sql", job.req.original)
      .str("reason", "the served form answered differently when run twice; this fingerprint is not compared");
}

void ShadowRunner::verdict(Job& job, const std::string& compared, bool equal, const std::string& diff, size_t rows_a,
                           size_t rows_b, std::vector<std::string> rows) {
  const auto& r = job.req;
  const auto& t = r.tenant->cfg;
  job.slot->counters.compared->fetch_add(1, std::memory_order_relaxed);
  std::optional<shadow::MismatchRecord> evidence;
  if (!equal) {
    job.slot->counters.mismatches->fetch_add(1, std::memory_order_relaxed);
    shadow::MismatchRecord m;
    m.at = utc_now();
    m.tenant = t.name;
    m.fingerprint = r.switched->fingerprint;
    m.sql = r.original;
    m.phase = config::to_string(r.phase);
    m.compared = compared;
    m.param_count = r.params.values.size();
    m.params_redacted = !t.shadow->log_parameters;
    if (!m.params_redacted)
      for (size_t i = 0; i < r.params.values.size(); ++i) {
        const auto& v = r.params.values[i];
        bool binary = i < r.params.formats.size() && r.params.formats[i] == 1;
        m.params.push_back(v && binary ? std::optional<std::string>(hex(*v)) : v);
      }
    m.rows_a = rows_a;
    m.rows_b = rows_b;
    m.rows = std::move(rows);
    m.diff = diff;
    evidence = std::move(m);
  }
  service_.judged(t.name, *job.slot->guard, t.guard, std::move(evidence));
}

}  // namespace sy::proxy
