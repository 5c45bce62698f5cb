// Cost of the rewrite decision per statement, at the three points that matter
// on the hot path (targets from the rewrite issue, on this 2-core machine):
//   - a statement that touches no mapped column:   <= 150 ns (pre-filter only)
//   - a rewrite served from the decision cache:    <= 1 us
//   - a rewrite decided from scratch (cache miss): <= 25 us (parse, analyse, verify)
// and for the read switch (read_switch/cleanup):
//   - a read that names no migrated table:         <= 150 ns
//   - a switched read from the decision cache:     <= 1 us
//   - a switched read decided from scratch:        <= 40 us
// and for read routing, whether a read target may answer a statement
// (rewrite/pg/routable_read.h, rewrite/mysql/routable_read.h), decided from
// scratch: PostgreSQL parses, MySQL lexes.
// Run: build/tests/bench/rewrite_bench   (or tests/bench/rewrite-bench.sh)
#include <benchmark/benchmark.h>

#include "rewrite/mysql/routable_read.h"
#include "rewrite/mysql_rewriter.h"
#include "rewrite/pg/routable_read.h"
#include "rewrite/pg_rewriter.h"
#include "rewrite/tenant_rewriter.h"
#include "tests/unit/support/test_config.h"

using namespace sy;

namespace {

const std::string kConfig = test::dual_write_yaml(
    "[order_status, pr_status, cashout_status]",
    test::order_status_yaml(R"({ "Created": CREATED, "Awaiting approval": PENDING_APPROVAL,
           "Awaiting fulfilment": APPROVED, "In fulfilment": IN_FULFILMENT, "Dispatched": DISPATCHED,
           "Delivered": DELIVERED, "Cancelled": CANCELLED })") +
        R"(  pr_status:
    table: orders
    legacy_column: pr_status
    unified_column: unified_pr_status
    map: { draft: DRAFT, approved: APPROVED }
  cashout_status:
    table: cashouts
    legacy_column: status
    unified_column: unified_status
    map: { PENDING: PENDING, EXECUTING: PROCESSING, SUCCESS: SUCCESS, FAILED: FAILED }
)");

struct Env {
  std::shared_ptr<const config::Config> cfg = test::load_config(kConfig);
  rewrite::TenantRewriter tenant{*cfg, cfg->tenants.at(0)};
  rewrite::MigrationSet migrations{*cfg, cfg->tenants.at(0)};
  rewrite::PgRewriter pg{migrations};
  rewrite::MysqlRewriter mysql{migrations};
};

Env& env() {
  static Env e;
  return e;
}

void BM_NoMappedColumn_Select(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  const std::string sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(cache, sql, config::Phase::DualWrite, true));
}
BENCHMARK(BM_NoMappedColumn_Select);

void BM_NoMappedColumn_Update(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  const std::string sql = "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2";
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(cache, sql, config::Phase::DualWrite, true));
}
BENCHMARK(BM_NoMappedColumn_Update);

void BM_NoMappedColumn_ReadOfMigratedTable(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  const std::string sql = "SELECT id, status, unified_status FROM orders WHERE id = $1";
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(cache, sql, config::Phase::DualWrite, true));
}
BENCHMARK(BM_NoMappedColumn_ReadOfMigratedTable);

// Each benchmark thread is a worker with its own DecisionCache, as in the proxy.
void BM_CacheHit_ParamUpdate(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  const std::string sql = "UPDATE orders SET status = $1 WHERE id = $2";
  e.tenant.decide(cache, sql, config::Phase::DualWrite, true);
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(cache, sql, config::Phase::DualWrite, true));
}
// Threads(2): both worker threads decide for the same tenant at once.
BENCHMARK(BM_CacheHit_ParamUpdate)->Threads(1)->Threads(2)->UseRealTime();

// The cache shared by all threads behind a mutex (the API before per-worker
// caches, kept until every session passes its worker's cache).
void BM_CacheHit_SharedCache(benchmark::State& state) {
  auto& e = env();
  const std::string sql = "UPDATE orders SET status = $1 WHERE id = $2";
  e.tenant.decide(sql, config::Phase::DualWrite, true);
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(sql, config::Phase::DualWrite, true));
}
BENCHMARK(BM_CacheHit_SharedCache)->Threads(1)->Threads(2)->UseRealTime();

void BM_CacheMiss_ParamUpdate(benchmark::State& state) {
  auto& e = env();
  const std::string sql = "UPDATE orders SET status = $1 WHERE id = $2";
  rewrite::RewriteOptions opts{.phase = config::Phase::DualWrite, .extended = true};
  for (auto _ : state) benchmark::DoNotOptimize(e.pg.rewrite(sql, opts));
}
BENCHMARK(BM_CacheMiss_ParamUpdate);

void BM_CacheMiss_LiteralUpdate(benchmark::State& state) {
  auto& e = env();
  const std::string sql = "UPDATE orders SET status = 'Dispatched', note = 'DHL' WHERE id = 42";
  rewrite::RewriteOptions opts{.phase = config::Phase::DualWrite};
  for (auto _ : state) benchmark::DoNotOptimize(e.pg.rewrite(sql, opts));
}
BENCHMARK(BM_CacheMiss_LiteralUpdate);

void BM_CacheMiss_MultiRowInsert(benchmark::State& state) {
  auto& e = env();
  const std::string sql =
      "INSERT INTO orders (id, status, pr_status) VALUES (1, 'Created', 'draft'), (2, 'Dispatched', 'approved'), "
      "(3, $1, $2) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status";
  rewrite::RewriteOptions opts{.phase = config::Phase::DualWrite, .extended = true};
  for (auto _ : state) benchmark::DoNotOptimize(e.pg.rewrite(sql, opts));
}
BENCHMARK(BM_CacheMiss_MultiRowInsert);

// ---- the read switch ------------------------------------------------------------
const std::string kSwitchedRead =
    "SELECT o.id, o.status, count(c.id) FROM orders o LEFT JOIN cashouts c ON c.order_id = o.id "
    "WHERE o.status IN ('Dispatched', 'Delivered') AND c.status = $1 GROUP BY o.id, o.status ORDER BY o.id LIMIT 50";

void BM_ReadSwitch_NoMigratedTable(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  const std::string sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(cache, sql, config::Phase::ReadSwitch, true));
}
BENCHMARK(BM_ReadSwitch_NoMigratedTable);

void BM_ReadSwitch_CacheHit(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  e.tenant.decide(cache, kSwitchedRead, config::Phase::ReadSwitch, true);
  for (auto _ : state) benchmark::DoNotOptimize(e.tenant.decide(cache, kSwitchedRead, config::Phase::ReadSwitch, true));
}
BENCHMARK(BM_ReadSwitch_CacheHit);

void BM_ReadSwitch_CacheMiss(benchmark::State& state) {
  auto& e = env();
  rewrite::RewriteOptions opts{.phase = config::Phase::ReadSwitch, .extended = true};
  for (auto _ : state) benchmark::DoNotOptimize(e.pg.rewrite(kSwitchedRead, opts));
}
BENCHMARK(BM_ReadSwitch_CacheMiss);

void BM_ReadSwitch_CacheMiss_Simple(benchmark::State& state) {
  auto& e = env();
  const std::string sql = "SELECT id, status FROM orders WHERE status = $1 ORDER BY id LIMIT 10";
  rewrite::RewriteOptions opts{.phase = config::Phase::ReadSwitch, .extended = true};
  for (auto _ : state) benchmark::DoNotOptimize(e.pg.rewrite(sql, opts));
}
BENCHMARK(BM_ReadSwitch_CacheMiss_Simple);

// The MySQL read switch (read_switch phase): a SELECT over a migrated table
// decided from scratch (lex, recognise, resolve names, verify), from the
// worker's cache, and one that names no migrated table (pre-filter only).
const std::string kMysqlSwitchedRead =
    "SELECT o.id, o.status, c.status AS cashout FROM orders o JOIN cashouts c ON c.order_id = o.id "
    "WHERE o.status IN ('Dispatched', ?) AND c.status <> ? ORDER BY o.id LIMIT 20";

void BM_MysqlRead_CacheMiss_Join(benchmark::State& state) {
  auto& e = env();
  rewrite::RewriteOptions opts{.phase = config::Phase::ReadSwitch, .extended = true};
  for (auto _ : state) benchmark::DoNotOptimize(e.mysql.rewrite(kMysqlSwitchedRead, opts));
}
BENCHMARK(BM_MysqlRead_CacheMiss_Join);

void BM_MysqlRead_CacheMiss_Simple(benchmark::State& state) {
  auto& e = env();
  const std::string sql = "SELECT id, status FROM orders WHERE status = ? ORDER BY id LIMIT 10";
  rewrite::RewriteOptions opts{.phase = config::Phase::ReadSwitch, .extended = true};
  for (auto _ : state) benchmark::DoNotOptimize(e.mysql.rewrite(sql, opts));
}
BENCHMARK(BM_MysqlRead_CacheMiss_Simple);

void BM_MysqlRead_CacheHit(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  e.tenant.decide(cache, kMysqlSwitchedRead, config::Phase::ReadSwitch, true, rewrite::Dialect::Mysql);
  for (auto _ : state)
    benchmark::DoNotOptimize(e.tenant.decide(cache, kMysqlSwitchedRead, config::Phase::ReadSwitch, true, rewrite::Dialect::Mysql));
}
BENCHMARK(BM_MysqlRead_CacheHit);

void BM_MysqlRead_NoMigratedTable(benchmark::State& state) {
  auto& e = env();
  rewrite::DecisionCache cache;
  const std::string sql = "SELECT k, c FROM sbtest1 WHERE id = ?";
  for (auto _ : state)
    benchmark::DoNotOptimize(e.tenant.decide(cache, sql, config::Phase::ReadSwitch, true, rewrite::Dialect::Mysql));
}
BENCHMARK(BM_MysqlRead_NoMigratedTable);

// ---- read routing: may the read target answer it? -------------------------

void BM_RoutableRead_Pg_PointSelect(benchmark::State& state) {
  const std::string sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  for (auto _ : state) benchmark::DoNotOptimize(rewrite::pg_routable_read(sql));
}
BENCHMARK(BM_RoutableRead_Pg_PointSelect);

void BM_RoutableRead_Pg_Join(benchmark::State& state) {
  const std::string sql =
      "SELECT o.id, lower(o.status), count(i.id) FROM orders o JOIN items i ON i.order_id = o.id "
      "WHERE o.created > now() - interval '1 day' GROUP BY o.id, o.status ORDER BY 3 DESC LIMIT 20";
  for (auto _ : state) benchmark::DoNotOptimize(rewrite::pg_routable_read(sql));
}
BENCHMARK(BM_RoutableRead_Pg_Join);

void BM_RoutableRead_Mysql_PointSelect(benchmark::State& state) {
  const std::string sql = "SELECT c FROM sbtest1 WHERE id = ?";
  for (auto _ : state) benchmark::DoNotOptimize(rewrite::mysql_routable_read(sql));
}
BENCHMARK(BM_RoutableRead_Mysql_PointSelect);

void BM_RoutableRead_Mysql_Join(benchmark::State& state) {
  const std::string sql =
      "SELECT t.id, LOWER(t.state), COUNT(i.id) FROM transfers t JOIN items i ON (i.transfer_id = t.id) "
      "WHERE t.created > NOW() - INTERVAL 1 DAY GROUP BY t.id, t.state ORDER BY 3 DESC LIMIT 20";
  for (auto _ : state) benchmark::DoNotOptimize(rewrite::mysql_routable_read(sql));
}
BENCHMARK(BM_RoutableRead_Mysql_Join);

}  // namespace

BENCHMARK_MAIN();
