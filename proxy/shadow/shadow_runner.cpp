#include "proxy/shadow/shadow_runner.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <set>

#include "proxy/backends/owned_mysql_connection.h"
#include "proxy/backends/owned_pg_connection.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/net/task_group.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/shadow/compare_plan.h"
#include "proxy/telemetry/log.h"
#include "rewrite/normalized_sql.h"

namespace sy::proxy {

namespace asio = boost::asio;
using config::Phase;

namespace {

constexpr std::string_view kBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// The session is REPEATABLE READ (set once per connection): the snapshot is
// taken at START, not at the first read, so both forms see the same one.
constexpr std::string_view kMyBegin = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
constexpr std::string_view kMyIsolation = "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ";
constexpr std::string_view kCommit = "COMMIT";

// SPEC: evidence carries the normalised statement (values taken out); the
// text as sent only where the tenant lets values be logged.
std::string evidence_sql(const ShadowRequest& r) {
  if (r.tenant->cfg.shadow->log_parameters) return r.original;
  const bool mysql = r.listener->cfg.protocol == config::Protocol::Mysql;
  return rewrite::normalized_sql(r.original, mysql ? rewrite::Dialect::Mysql : rewrite::Dialect::Postgres);
}
constexpr std::string_view kExplainBegin = "BEGIN READ ONLY";
constexpr std::string_view kDeallocateAll = "DEALLOCATE ALL";
constexpr std::string_view kGenericPlans = "SET LOCAL plan_cache_mode = force_generic_plan";

shadow::ResultSet result_set(QueryResult& q, bool mysql) {
  shadow::ResultSet r;
  r.columns.reserve(q.columns.size());
  for (const auto& c : q.columns)
    r.columns.push_back({c.name, mysql ? shadow::mysql_value_kind(static_cast<uint8_t>(c.type)) : shadow::pg_value_kind(c.type)});
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
  std::unique_ptr<OwnedMySqlConnection> my_primary, my_other;  //!< instead, on a MySQL listener
};

struct ShadowRunner::Pool {
  config::Target primary;
  std::optional<config::Target> other;
  std::string database;
  bool mysql = false;  //!< the listener's protocol
  std::deque<Job> queue;
  size_t lanes = 0;
  std::vector<asio::steady_timer*> idle;  //!< wake timers of lanes waiting for work
  Clock::time_point down_until{};
};

ShadowRunner::ShadowRunner(asio::io_context& io, ShadowService& service) : io_(io), service_(service) {}
ShadowRunner::~ShadowRunner() = default;

bool ShadowRunner::shadows(const config::Tenant& t, const config::Listener& l, Phase phase) {
  if (!t.shadow || !(t.shadow->sample_percent > 0)) return false;
  // The same server compares the legacy column with the unified one, which
  // both hold current values in dual_write and read_switch only.
  if (on_one_server(t, l)) return phase == Phase::DualWrite || phase == Phase::ReadSwitch;
  return phase == Phase::DualWrite || phase == Phase::ReadSwitch || phase == Phase::Cleanup;
}

bool ShadowRunner::compares_across(const config::Tenant& t, const config::Listener& l) {
  return t.shadow && !on_one_server(t, l);
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
    pool->mysql = l.protocol == config::Protocol::Mysql;
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
  auto& my = other ? lane.my_other : lane.my_primary;
  if (pool.mysql ? my && my->usable() : conn && conn->usable()) co_return true;
  const auto& target = other ? *pool.other : pool.primary;
  OwnedConnectionOptions options;
  options.connect_timeout = std::chrono::milliseconds(job.req.tenant->cfg.shadow->timeout_ms);
  options.query_timeout = options.connect_timeout;  // the server's statement_timeout: a second more
  options.database = pool.database;
  options.application_name = "switchyard-shadow";
  options.read_only = true;  // a shadow never writes, whatever the statement calls
  std::optional<BackendError> error;
  if (pool.mysql) {
    my = std::make_unique<OwnedMySqlConnection>(io_.get_executor(), target, options);
    error = co_await my->connect();
    if (!error) {
      std::vector<std::optional<std::string>> none;
      auto set = co_await my->query(std::string(kMyIsolation), std::move(none), job.deadline);
      error = set.error;
    }
  } else {
    conn = std::make_unique<OwnedPgConnection>(io_.get_executor(), target, options);
    error = co_await conn->connect();
  }
  if (error) {
    conn.reset();
    my.reset();
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
  const auto taken = Clock::now();
  co_await run_taken(pool, lane, job);
  service_.duration().observe(std::chrono::duration<double>(Clock::now() - taken).count());
}

asio::awaitable<void> ShadowRunner::run_taken(Pool& pool, Lane& lane, Job& job) {
  if (Clock::now() >= job.deadline) {
    count_drop(*job.slot, DropReason::Deadline);
    co_return;
  }
  if (Clock::now() < pool.down_until) {
    count_drop(*job.slot, DropReason::TargetDown);
    co_return;
  }
  // The other target first: cross_target reads the primary only when it
  // must, and only after the other target has answered.
  // (GCC 12 miscompiles co_await inside a condition: await into a variable.)
  const bool connected = co_await ready(pool, lane, pool.other.has_value(), job);
  if (!connected) co_return;
  if (pool.other)
    co_await cross_target(pool, lane, job);
  else
    co_await same_server(pool, lane, job);
}

asio::awaitable<std::vector<QueryResult>> ShadowRunner::exec(Pool& pool, Lane& lane, bool other,
                                                             std::vector<PgStatement> statements,
                                                             Clock::time_point deadline) {
  if (!pool.mysql) {
    auto& conn = other ? lane.other : lane.primary;
    co_return co_await conn->pipeline(std::move(statements), deadline);
  }
  auto& conn = other ? lane.my_other : lane.my_primary;
  std::vector<QueryResult> out;
  out.reserve(statements.size());
  bool broke = false;
  for (const auto& st : statements) {
    if (broke || !conn || !conn->usable()) {
      QueryResult skipped;
      skipped.error = BackendError{"skipped after an earlier error", "", !conn || !conn->usable()};
      out.push_back(std::move(skipped));
      broke = true;
      continue;
    }
    std::vector<std::optional<std::string>> values;
    std::vector<bool> numbers;  // MySQL: formats[i] 1 marks a bound number (ShadowRequest::params)
    if (st.params) {
      values = st.params->values;
      for (int f : st.params->formats) numbers.push_back(f == 1);
    }
    auto started = Clock::now();
    auto r = co_await conn->query(std::string(st.sql), std::move(values), deadline, std::move(numbers));
    r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    broke = !r.ok();
    out.push_back(std::move(r));
  }
  // An error inside the snapshot leaves the transaction open: end it here,
  // rather than have the next shadow's START end it implicitly.
  if (broke && conn && conn->usable()) {
    std::vector<std::optional<std::string>> none;
    auto rolled = co_await conn->query("ROLLBACK", std::move(none), deadline);
    if (!rolled.ok()) conn->close();
  }
  co_return out;
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

// Whether the client's answer, kept as text values without its columns, can
// stand for the primary's: every row as wide as the other target's columns,
// and nothing whose text depends on the client session's settings, which
// the proxy's own connection does not share: dates and times (DateStyle,
// TimeZone, IntervalStyle), money (lc_monetary), bytea (bytea_output), and
// bytes past ASCII (client_encoding). Floats are compared to a tolerance, so
// extra_float_digits does not matter.
bool keepable(const QueryResult& client, const QueryResult& other) {
  for (const auto& c : other.columns)
    if (shadow::pg_text_depends_on_session(c.type)) return false;
  for (const auto& row : client.rows) {
    if (row.size() != other.columns.size()) return false;
    for (const auto& v : row)
      if (v)
        for (unsigned char ch : *v)
          if (ch >= 0x80) return false;
  }
  return true;
}

}  // namespace

asio::awaitable<void> ShadowRunner::same_server(Pool& pool, Lane& lane, Job& job) {
  const auto& r = job.req;
  const auto& t = r.tenant->cfg;
  const auto& fp = r.switched->fingerprint;
  const auto& shape = *r.switched->read_shape;
  // The client was served the original in dual_write, the switched form after.
  const bool served_original = r.phase == Phase::DualWrite;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool self = attempt == 1 || book_.wants_self_check(t.name, fp);
    std::vector<PgStatement> st{{pool.mysql ? kMyBegin : kBegin}, {r.original, &r.params}, {r.switched->sql, &r.params}};
    if (self) st.push_back({served_original ? std::string_view(r.original) : std::string_view(r.switched->sql), &r.params});
    st.push_back({kCommit});
    auto rs = co_await exec(pool, lane, false, std::move(st), job.deadline);
    std::string message;
    if (auto reason = failure(rs, job.deadline, message)) {
      // The original failing is the client's own error; the switched form
      // failing alone would be the switch's, and is worth a line.
      bool switch_failed = !rs[1].error && rs[2].error && !rs[2].error->connection_lost;
      log::Event(switch_failed ? log::Level::warn : log::Level::debug, "shadow_error").category("SHADOW_ERROR").str("tenant", t.name)
          .str("fingerprint", fp).str("error", message).str("form", switch_failed ? "switched" : "any");
      count_drop(*job.slot, *reason);
      co_return;
    }
    auto legacy = result_set(rs[1], pool.mysql);
    auto unified = result_set(rs[2], pool.mysql);
    auto options = shadow::compare_options(shape, r.tenant->rewriter->migrations(), t.shadow->ignore_columns,
                                           legacy.columns, shadow::limit_of(shape, r.params.values, r.params.formats));
    if (self) {
      auto again = result_set(rs[3], pool.mysql);
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
    if (explain) co_await explain_both(pool, lane, job);
    co_return;
  }
}

asio::awaitable<void> ShadowRunner::cross_target(Pool& pool, Lane& lane, Job& job) {
  auto& r = job.req;
  const auto& t = r.tenant->cfg;
  const auto& fp = r.switched->fingerprint;
  const auto& shape = *r.switched->read_shape;
  const std::string_view served = r.phase == Phase::DualWrite ? std::string_view(r.original) : r.switched->sql;
  const std::string compared = "primary vs " + pool.other->name;
  // One statement is one snapshot on PostgreSQL, where the connection is
  // read-only (ready()): no BEGIN and COMMIT, a third of the statements.
  // MySQL wraps it in START TRANSACTION READ ONLY.
  const size_t k = pool.mysql ? 1 : 0;  // the read's result among the statements'
  auto once = [&](bool other) -> asio::awaitable<std::vector<QueryResult>> {
    std::vector<PgStatement> st;
    if (pool.mysql) st = {{kMyBegin}, {served, &r.params}, {kCommit}};
    else st = {{served, &r.params}};
    co_return co_await exec(pool, lane, other, std::move(st), job.deadline);
  };
  auto dropped = [&](const std::vector<QueryResult>& rs) {
    std::string message;
    auto reason = failure(rs, job.deadline, message);
    if (!reason) return false;
    log::Event(log::Level::debug, "shadow_error").category("SHADOW_ERROR").str("tenant", t.name).str("fingerprint", fp).str("error", message);
    count_drop(*job.slot, *reason);
    return true;
  };
  // The primary's answer, read again unless the client's own stands for it.
  // The primary is asked only once the other target has answered: a slow or
  // dead target then costs the primary nothing.
  auto primary = [&](bool fresh, const QueryResult& other) -> asio::awaitable<std::optional<QueryResult>> {
    if (!fresh && r.client_answer && keepable(*r.client_answer, other)) {
      QueryResult answer = std::move(*r.client_answer);
      r.client_answer.reset();
      answer.columns = other.columns;  // the same text on the same schema: its columns, named and typed by the other
      job.slot->counters.answers_kept->fetch_add(1, std::memory_order_relaxed);
      co_return answer;
    }
    const bool connected = co_await ready(pool, lane, false, job);
    if (!connected) co_return std::nullopt;
    auto rs = co_await once(false);
    if (dropped(rs)) co_return std::nullopt;
    co_return std::move(rs[k]);
  };
  // A difference counts only when the same rows differ at every look: the
  // first (the client's answer against the target) and kRechecks more, each
  // at both afresh after a growing pause. A row written while the target
  // catches up differs at one look and agrees at the next, or another row
  // differs then; a row whose data differs keeps differing.
  std::optional<std::set<std::string>> persistent;
  for (int look = 0; look <= kRechecks; ++look) {
    auto on_other = co_await once(true);
    if (dropped(on_other)) co_return;
    auto on_primary = co_await primary(look > 0, on_other[k]);
    if (!on_primary) co_return;
    auto a = result_set(*on_primary, pool.mysql);
    auto b = result_set(on_other[k], pool.mysql);
    auto options = shadow::compare_options(shape, r.tenant->rewriter->migrations(), t.shadow->ignore_columns,
                                           a.columns, shadow::limit_of(shape, r.params.values, r.params.formats));
    if (look == 0 && book_.wants_self_check(t.name, fp)) {
      // Another snapshot, another now(): across servers both differ anyway.
      auto again = co_await primary(true, on_other[k]);
      if (!again) co_return;
      bool differed = !shadow::compare(a, result_set(*again, pool.mysql), options).equal;
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
    if (!c.equal) {
      std::set<std::string> rows;
      for (const auto& d : c.diffs) rows.insert(d.key);
      if (persistent) {
        std::erase_if(*persistent, [&](const std::string& key) { return !rows.count(key); });
      } else {
        persistent = std::move(rows);
      }
      if (persistent->empty()) {
        log::Event(log::Level::debug, "shadow_unsettled").str("tenant", t.name).str("fingerprint", fp)
            .num("looks", look + 1);
        count_drop(*job.slot, DropReason::Unsettled);
        co_return;
      }
      if (look < kRechecks) {
        auto left = job.deadline - Clock::now();
        auto pause = std::min<Clock::duration>(kRecheckPause * (1 << look), left / 2);
        if (pause > Clock::duration::zero()) {
          asio::steady_timer timer(io_.get_executor(), pause);
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        continue;
      }
    }
    std::vector<std::string> rows;
    if (!c.equal) rows.assign(persistent->begin(), persistent->end());
    verdict(job, compared, c.equal, c.equal ? "" : c.describe("primary", pool.other->name), c.rows_a, c.rows_b,
            std::move(rows));
    co_return;
  }
}

asio::awaitable<void> ShadowRunner::explain_both(Pool& pool, Lane& lane, Job& job) {
  const auto& r = job.req;
  const auto& t = r.tenant->cfg;
  // Its own deadline: the shadow's may be nearly spent, and a plan is cheap.
  auto deadline = Clock::now() + std::chrono::milliseconds(t.shadow->timeout_ms);
  const bool mysql = pool.mysql;
  // PostgreSQL's EXPLAIN plans a statement with bound parameters for their
  // values and prints them (`Index Cond: (id = 42)`). Unless parameters may
  // be logged, the plans are taken generic instead, showing `$1`: PostgreSQL
  // 15 has no EXPLAIN (GENERIC_PLAN), but EXPLAIN EXECUTE of a prepared
  // statement under force_generic_plan gives that plan whatever the
  // arguments, so NULLs are passed and the values never reach the server.
  // The plan shape, which is what the report is about, is the one a prepared
  // statement settles on after five executions. The lane's connection
  // prepares nothing else, so DEALLOCATE ALL first clears what an earlier
  // failed attempt left.
  const bool generic = !mysql && !r.params.values.empty() && !t.shadow->log_parameters;
  std::vector<PgStatement> st;
  std::string legacy, switched, prepare_legacy, prepare_switched;
  if (generic) {
    std::string nulls = "(NULL";
    for (size_t i = 1; i < r.params.values.size(); ++i) nulls += ", NULL";
    nulls += ")";
    prepare_legacy = "PREPARE sy_explain_legacy AS " + r.original;
    prepare_switched = "PREPARE sy_explain_switched AS " + r.switched->sql;
    legacy = "EXPLAIN EXECUTE sy_explain_legacy" + nulls;
    switched = "EXPLAIN EXECUTE sy_explain_switched" + nulls;
    st = {{kDeallocateAll}, {kExplainBegin}, {kGenericPlans}, {prepare_legacy}, {prepare_switched},
          {legacy}, {switched}, {kCommit}};
  } else {
    legacy = "EXPLAIN " + r.original;
    switched = "EXPLAIN " + r.switched->sql;
    st = {{legacy, &r.params}, {switched, &r.params}};
  }
  auto rs = co_await exec(pool, lane, false, std::move(st), deadline);
  const size_t first = generic ? 5 : 0;
  auto plan = [mysql](const QueryResult& q) {
    if (q.error) return "EXPLAIN failed: " + q.error->message;
    std::string text;
    for (const auto& row : q.rows) {
      if (mysql) {
        // One line per table of the plan: its columns as name=value.
        if (!text.empty()) text.push_back('\n');
        for (size_t i = 0; i < row.size() && i < q.columns.size(); ++i)
          if (row[i]) text += (i ? " " : "") + q.columns[i].name + "=" + *row[i];
        continue;
      }
      for (const auto& v : row) {
        if (!text.empty()) text.push_back('\n');
        if (v) text += *v;
      }
    }
    return text;
  };
  service_.explained(t.name, r.switched->fingerprint, plan(rs[first]), plan(rs[first + 1]), utc_now());
}

void ShadowRunner::noise(Job& job) {
  const auto& t = job.req.tenant->cfg;
  job.slot->counters.noise->fetch_add(1, std::memory_order_relaxed);
  log::Event(log::Level::info, "shadow_noise").category("SHADOW_NOISE").str("tenant", t.name)
      .str("fingerprint", job.req.switched->fingerprint).str("sql", evidence_sql(job.req))
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
    m.sql = evidence_sql(r);
    m.phase = config::to_string(r.phase);
    m.compared = compared;
    m.param_count = r.params.values.size();
    m.params_redacted = !t.shadow->log_parameters;
    if (!m.params_redacted)
      for (size_t i = 0; i < r.params.values.size(); ++i) {
        const auto& v = r.params.values[i];
        // PostgreSQL's format 1 is binary; MySQL's marks a number, which reads as itself.
        bool binary = i < r.params.formats.size() && r.params.formats[i] == 1 &&
                      r.listener->cfg.protocol == config::Protocol::Postgres;
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
