// The typed handles count into the same series the registry renders, with the
// same names and labels, and a series still appears only once it counted.
#include "proxy/telemetry/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "proxy/telemetry/listener_stats.h"
#include "proxy/telemetry/tenant_stats.h"

using namespace sy;
using proxy::Metrics;
using rewrite::Outcome;

TEST(TenantStats, CountsIntoTheRegistrySeries) {
  Metrics m;
  auto stats = m.tenant_stats("acme", {"order_status", "pr_status"});
  stats->statements_simple().fetch_add(2);
  stats->statements_extended().fetch_add(1);
  std::string out = m.render();
  EXPECT_NE(out.find("switchyard_statements_total{tenant=\"acme\",kind=\"simple\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("switchyard_statements_total{tenant=\"acme\",kind=\"extended\"} 1\n"), std::string::npos);
  // Nothing rewritten yet: no rewrites_total series, as before.
  EXPECT_EQ(out.find("switchyard_rewrites_total{"), std::string::npos);

  stats->rewrites("pr_status", Outcome::Unmapped).fetch_add(1);
  stats->rewrites("pr_status", Outcome::Unmapped).fetch_add(1);
  stats->rewrites("", Outcome::Unsupported).fetch_add(1);
  stats->rewrites("not_in_config", Outcome::Rewritten).fetch_add(1);  // falls back to the registry
  out = m.render();
  EXPECT_NE(out.find("switchyard_rewrites_total{tenant=\"acme\",migration=\"pr_status\",outcome=\"unmapped\"} 2\n"),
            std::string::npos);
  EXPECT_NE(out.find("switchyard_rewrites_total{tenant=\"acme\",migration=\"\",outcome=\"unsupported\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("migration=\"not_in_config\",outcome=\"rewritten\"} 1\n"), std::string::npos);
  // The handle and the registry name the same counter.
  EXPECT_EQ(&stats->rewrites("pr_status", Outcome::Unmapped),
            &m.counter("rewrites_total", {{"tenant", "acme"}, {"migration", "pr_status"}, {"outcome", "unmapped"}}));
}

TEST(TenantStats, SharedUntilTheTenantsMigrationsChange) {
  Metrics m;
  auto a = m.tenant_stats("acme", {"order_status"});
  EXPECT_EQ(m.tenant_stats("acme", {"order_status"}).get(), a.get());
  auto b = m.tenant_stats("acme", {"order_status", "pr_status"});  // a reload added one
  EXPECT_NE(b.get(), a.get());
  // Old and new handles count into the same series.
  a->rewrites("order_status", Outcome::Rewritten).fetch_add(1);
  b->rewrites("order_status", Outcome::Rewritten).fetch_add(1);
  EXPECT_EQ(b->rewrites("order_status", Outcome::Rewritten).load(), 2u);
}

TEST(ListenerStats, LazyConnectionGaugeAndBackendErrorsByTarget) {
  Metrics m;
  config::Listener l;
  l.name = "pg";
  l.targets.resize(2);
  l.targets[0].name = "legacy";
  l.targets[1].name = "unified";
  proxy::ListenerStats stats(m, l);
  EXPECT_EQ(m.render().find("switchyard_client_connections{"), std::string::npos);
  stats.client_connections().fetch_add(3);
  stats.backend_errors("unified").fetch_add(1);
  stats.backend_errors("gone").fetch_add(1);
  auto out = m.render();
  EXPECT_NE(out.find("switchyard_client_connections{listener=\"pg\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("switchyard_backend_errors_total{target=\"unified\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("switchyard_backend_errors_total{target=\"unknown\"} 1\n"), std::string::npos);
  EXPECT_EQ(out.find("target=\"legacy\""), std::string::npos);
}

TEST(Histogram, ShardsAddUpAcrossThreads) {
  Metrics m;
  constexpr int kThreads = 4, kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) m.statement_overhead().observe(i % 2 ? 2e-7 : 2e-3);
    });
  for (auto& t : threads) t.join();
  auto out = m.render();
  EXPECT_NE(out.find("switchyard_statement_overhead_seconds_bucket{le=\"2.4999999999999999e-07\"} 20000\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("switchyard_statement_overhead_seconds_bucket{le=\"+Inf\"} 40000\n"), std::string::npos);
  EXPECT_NE(out.find("switchyard_statement_overhead_seconds_count 40000\n"), std::string::npos);
}
