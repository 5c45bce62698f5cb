#include "proxy/fleet/fleet_logic.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "config/loader.h"
#include "proxy/fleet/store_sql.h"
#include "proxy/flags/tenant_directory.h"

using namespace sy;
using namespace sy::proxy::fleet;
using config::Phase;

namespace {

std::string yaml(const std::string& flags_store) {
  return R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets:
      legacy: { address: 127.0.0.1:5432, user: sy, database: app }
      replica: { address: 127.0.0.1:5433 }
)" + flags_store + R"(
tenants:
  - name: acme
    phase: observe
    canary: { phase: dual_write, percent: 10 }
)";
}

std::shared_ptr<const config::Config> cfg() {
  auto r = config::load_string(yaml("flags_store: { target: legacy }"));
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
  return r.config;
}

const config::Tenant& acme(const config::Config& c) { return c.tenants.front(); }

// The store's compare-and-set, as the SQL does it (UPDATE ... WHERE version = expected).
struct FakeStore {
  std::optional<StoreRow> row;
  bool cas(const PlannedWrite& w, const std::string& who) {
    uint64_t at = row ? row->version : 0;
    if (w.expected != at) return false;
    row = StoreRow{"acme", at + 1, w.to_json, who};
    return true;
  }
};

}  // namespace

TEST(FlagsStoreConfig, DefaultsAndValidation) {
  auto c = cfg();
  ASSERT_TRUE(c->flags_store);
  EXPECT_EQ(c->flags_store->table, "switchyard_flags");
  EXPECT_EQ(c->flags_store->poll_ms, 1000u);
  ASSERT_NE(c->flags_store_listener(), nullptr);
  EXPECT_EQ(c->flags_store_listener()->name, "pg");

  auto errors = [](const std::string& fs) {
    auto r = config::load_string(yaml(fs));
    std::string all;
    for (const auto& e : r.errors) all += e.str() + "\n";
    return all;
  };
  EXPECT_NE(errors("flags_store: { target: nowhere }").find("no target named \"nowhere\""), std::string::npos);
  EXPECT_NE(errors("flags_store: { target: replica }").find("has no user"), std::string::npos);
  EXPECT_NE(errors("flags_store: { target: legacy, table: \"x; DROP\" }").find("plain identifier"), std::string::npos);
  EXPECT_NE(errors("flags_store: { target: legacy, poll_ms: 0 }").find("poll_ms"), std::string::npos);
  EXPECT_NE(errors("flags_store: { table: t }").find("target"), std::string::npos);
  EXPECT_NE(errors("flags_store: { target: legacy, bogus: 1 }").find("unknown key"), std::string::npos);
}

TEST(FleetLogic, FirstWriteExpectsVersionZero) {
  auto c = cfg();
  auto w = plan_write(*c, acme(*c), nullptr, {.phase = Phase::DualWrite});
  ASSERT_EQ(w.result.status, 200);
  EXPECT_EQ(w.expected, 0u);
  EXPECT_EQ(w.from_json, "{}");
  EXPECT_EQ(w.to_json, "{\"phase\":\"dual_write\"}");
}

TEST(FleetLogic, AChangeIsLaidOnTheRowNotOnLocalState) {
  auto c = cfg();
  StoreRow row{"acme", 4, "{\"phase\":\"dual_write\"}", "api:x"};
  auto w = plan_write(*c, acme(*c), &row, {.canary = {.percent = 25}});
  ASSERT_EQ(w.result.status, 200);
  EXPECT_EQ(w.expected, 4u);
  EXPECT_EQ(w.next.phase, Phase::DualWrite);  // the row's phase stays
  ASSERT_TRUE(w.next.canary);
  EXPECT_EQ(w.next.canary->percent, 25);
  EXPECT_EQ(w.next.canary->phase, Phase::DualWrite);  // the file's canary phase, percent changed
}

TEST(FleetLogic, RulesRefuseBeforeAnythingIsWritten) {
  auto c = cfg();
  auto w = plan_write(*c, acme(*c), nullptr, {.read_target = std::string("nowhere")});
  EXPECT_EQ(w.result.status, 422);
  auto empty = plan_write(*c, acme(*c), nullptr, {});
  EXPECT_EQ(empty.result.status, 400);
}

TEST(FleetLogic, ARowThisConfigCannotReadIsAConflictNotAnOverwrite) {
  auto c = cfg();
  StoreRow row{"acme", 2, "{\"read_target\":\"gone\"}", "api:x"};
  auto w = plan_write(*c, acme(*c), &row, {.phase = Phase::Observe});
  EXPECT_EQ(w.result.status, 409);
}

// Two sidecars read the same version and both write: exactly one wins; the
// loser, reading again, lays its change on the winner's, so both changes hold.
TEST(FleetLogic, CompareAndSetHasOneWinnerAndTheRetryMerges) {
  auto c = cfg();
  FakeStore store;
  store.row = StoreRow{"acme", 3, "{}", "api:x"};
  auto a = plan_write(*c, acme(*c), &*store.row, {.phase = Phase::DualWrite});
  auto b = plan_write(*c, acme(*c), &*store.row, {.canary = {.percent = 0.0}});
  ASSERT_EQ(a.result.status, 200);
  ASSERT_EQ(b.result.status, 200);
  EXPECT_TRUE(store.cas(a, "api:a"));
  EXPECT_FALSE(store.cas(b, "guard"));  // same expected version: the loser
  EXPECT_EQ(store.row->version, 4u);
  auto retry = plan_write(*c, acme(*c), &*store.row, {.canary = {.percent = 0.0}});
  ASSERT_EQ(retry.result.status, 200);
  EXPECT_EQ(retry.expected, 4u);
  EXPECT_TRUE(store.cas(retry, "guard"));
  auto decoded = decode_overrides(*c, acme(*c), store.row->overrides);
  ASSERT_TRUE(decoded.error.empty()) << decoded.error;
  EXPECT_EQ(decoded.overrides.phase, Phase::DualWrite);
  ASSERT_TRUE(decoded.overrides.canary);
  EXPECT_EQ(decoded.overrides.canary->percent, 0);
  EXPECT_EQ(store.row->version, 5u);
}

// What a sidecar applies from a row is exactly the row, whatever it had before.
TEST(FleetLogic, ReplaceWithMakesTheOverridesExactlyTheRow) {
  auto c = cfg();
  proxy::TenantDirectory dir(c, nullptr);
  ASSERT_EQ(dir.apply("acme", {.phase = Phase::ReadSwitch, .read_target = std::string("replica")}, "test").status, 200);
  for (std::string json : {"{\"phase\":\"dual_write\"}",
                           "{\"canary\":{\"phase\":null,\"read_target\":\"replica\",\"percent\":5.0,\"sticky_by\":\"user\"}}",
                           "{}"}) {
    auto decoded = decode_overrides(*c, acme(*c), json);
    ASSERT_TRUE(decoded.error.empty()) << decoded.error;
    auto r = dir.apply("acme", replace_with(decoded.overrides), "flags_store:test");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(overrides_json(dir.current()->find("acme")->overrides), overrides_json(decoded.overrides)) << json;
  }
  EXPECT_TRUE(dir.current()->find("acme")->overrides.empty());
  EXPECT_EQ(dir.current()->find("acme")->cfg.phase, Phase::Observe);
}

TEST(FleetLogic, IfMatchAndFleetVersion) {
  EXPECT_EQ(parse_if_match("\"7\""), 7u);
  EXPECT_EQ(parse_if_match(" 12 "), 12u);
  EXPECT_EQ(parse_if_match("W/\"3\""), std::nullopt);
  EXPECT_EQ(parse_if_match(""), std::nullopt);
  EXPECT_EQ(parse_if_match("x1"), std::nullopt);
  EXPECT_EQ(fleet_version({{"a", 3, "{}", ""}, {"b", 5, "{}", ""}}), 8u);
  EXPECT_EQ(fleet_version({}), 0u);
}

TEST(FleetLogic, LaggingAndStaleSidecars) {
  std::vector<SidecarRow> rows{{"a", 8, 10, 1, "{}", 0.5}, {"b", 6, 0, 0, "{}", 0.7}, {"c", 8, 0, 0, "{}", 60}};
  auto v = view_fleet(rows, 8, 10);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_FALSE(v[0].lagging);
  EXPECT_TRUE(v[1].lagging);
  EXPECT_EQ(v[1].behind, 2u);
  EXPECT_FALSE(v[2].lagging);
  EXPECT_TRUE(v[2].stale);
}

TEST(StoreSql, EachDialectHasItsPlaceholdersAndIdempotentDdl) {
  StoreSql pg(Dialect::Postgres, "flags");
  StoreSql my(Dialect::Mysql, "flags");
  EXPECT_NE(pg.cas_update().find("WHERE tenant = $4 AND version = $5"), std::string::npos);
  EXPECT_NE(my.cas_update().find("WHERE tenant = ? AND version = ?"), std::string::npos);
  EXPECT_NE(pg.cas_insert().find("ON CONFLICT (tenant) DO NOTHING"), std::string::npos);
  EXPECT_NE(my.cas_insert().find("ON DUPLICATE KEY UPDATE tenant = tenant"), std::string::npos);
  for (const auto* s : {&pg, &my}) {
    auto ddl = s->ddl();
    ASSERT_EQ(ddl.size(), 3u);
    for (const auto& d : ddl) EXPECT_EQ(d.rfind("CREATE TABLE IF NOT EXISTS flags", 0), 0u) << d;
  }
  EXPECT_EQ(pg.listen(), "LISTEN \"flags\"");
  EXPECT_NE(pg.notify().find("pg_notify('flags'"), std::string::npos);
}

// With a store, a reload that changes a setting the store overrides keeps the
// override (the next poll would only put it back); without one, the file wins.
TEST(FleetLogic, WithAStoreAReloadKeepsTheStoresOverrides) {
  auto with_store = [](const std::string& phase) {
    auto text = yaml("flags_store: { target: legacy }");
    text.replace(text.find("phase: observe"), 14, "phase: " + phase);
    auto r = config::load_string(text);
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
    return r.config;
  };
  proxy::TenantDirectory dir(with_store("observe"), nullptr);
  ASSERT_EQ(dir.apply("acme", {.phase = Phase::DualWrite}, "flags_store:test").status, 200);
  ASSERT_EQ(dir.reload(with_store("read_switch"), "file_change").status, 200);
  EXPECT_EQ(dir.current()->find("acme")->cfg.phase, Phase::DualWrite);
  EXPECT_TRUE(dir.current()->find("acme")->overrides.phase);
}
