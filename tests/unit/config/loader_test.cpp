#include "config/loader.h"

#include <gtest/gtest.h>

using namespace sy::config;

namespace {
const char* kGood = R"(
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:6432
    tls: { mode: prefer, cert: server.crt, key: server.key }
    targets:
      legacy:  { address: 127.0.0.1:5432, tls: { mode: prefer } }
      unified: { address: 127.0.0.1:5433, user: shadow, password_env: SY_SHADOW_PW, database: app }
    primary: legacy
admin:
  listen: 127.0.0.1:9187
  token_env: SY_ADMIN_TOKEN
state_file: /var/lib/switchyard/flags.json
tenants:
  - name: acme
    match: { listener: pg, database: acme }
    phase: dual_write
    canary: { phase: read_switch, percent: 10, sticky_by: session }
    read_target: legacy
    shadow: { target: unified, sample_percent: 5, compare: auto, ignore_columns: [updated_at],
              timeout_ms: 2000, max_inflight: 64 }
    guard: { warn_mismatch_rate: 0.01, critical_mismatch_rate: 0.03, min_samples: 200,
             on_critical: rollback }
    on_unsupported: forward
    migrations: [order_status]
migrations:
  order_status:
    table: orders
    legacy_column: status
    unified_column: unified_status
    map: { "Awaiting approval": PENDING_APPROVAL, "Awaiting fulfilment": APPROVED }
    reverse: { APPROVED: "Awaiting fulfilment" }
    unmapped: keep
    transitions: [[CREATED, PENDING_APPROVAL, APPROVED, IN_FULFILMENT, DISPATCHED, DELIVERED]]
    terminal: [DELIVERED, CANCELLED]
)";
}  // namespace

TEST(ConfigLoader, LoadsTheSpecExample) {
  auto r = load_string(kGood);
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  const auto& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].listen.port, 6432);
  EXPECT_EQ(c.listeners[0].tls.mode, ClientTlsMode::Prefer);
  EXPECT_EQ(c.listeners[0].primary_target().address.port, 5432);
  EXPECT_EQ(c.listeners[0].target("unified")->password_env, "SY_SHADOW_PW");
  ASSERT_EQ(c.tenants.size(), 1u);
  EXPECT_EQ(c.tenants[0].phase, Phase::DualWrite);
  EXPECT_EQ(c.tenants[0].canary.phase, Phase::ReadSwitch);
  EXPECT_DOUBLE_EQ(c.tenants[0].canary.percent, 10);
  EXPECT_EQ(c.tenants[0].shadow->ignore_columns.at(0), "updated_at");
  const auto* m = c.migration("order_status");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->map.size(), 2u);
  EXPECT_EQ(m->map[0].first, "Awaiting approval");
  EXPECT_EQ(m->transitions.at(0).size(), 6u);
}

TEST(ConfigLoader, EntityColumnDefaultsToIdAndIsChecked) {
  auto r = load_string(kGood);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->migration("order_status")->entity_column, "id");

  std::string y = kGood;
  y.replace(y.find("    unified_column: unified_status\n"), 0, "    entity_column: order_ref\n");
  r = load_string(y);
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  EXPECT_EQ(r.config->migration("order_status")->entity_column, "order_ref");

  for (const char* bad : {"status", "unified_status", "\"\"", "[a, b]"}) {
    std::string b = kGood;
    b.replace(b.find("    unified_column: unified_status\n"), 0, std::string("    entity_column: ") + bad + "\n");
    r = load_string(b);
    ASSERT_FALSE(r.ok()) << bad;
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    EXPECT_EQ(r.errors[0].path, "migrations.order_status.entity_column") << bad;
    EXPECT_EQ(r.errors[0].line, 31) << bad;
  }
}

TEST(ConfigLoader, ReportsEveryErrorWithItsLine) {
  const char* bad = R"(listeners:
  - name: pg
    protocol: postgress
    listen: 127.0.0.1:99999
    targets:
      legacy: { address: nowhere }
    primary: unified
    colour: blue
)";
  auto r = load_string(bad);
  ASSERT_FALSE(r.ok());
  std::map<int, std::string> by_line;
  for (const auto& e : r.errors) by_line[e.line] += e.str() + "\n";
  EXPECT_NE(by_line[3].find("postgres | mysql"), std::string::npos) << by_line[3];
  EXPECT_NE(by_line[4].find("host:port"), std::string::npos);
  EXPECT_NE(by_line[6].find("host:port"), std::string::npos);
  EXPECT_NE(by_line[7].find("no target named \"unified\""), std::string::npos);
  EXPECT_NE(by_line[8].find("unknown key \"colour\""), std::string::npos);
  EXPECT_EQ(r.errors.size(), 5u);
}

TEST(ConfigLoader, SyntaxErrorHasALine) {
  auto r = load_string("listeners:\n  - name: [unclosed\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_GE(r.errors[0].line, 2);
}

TEST(ConfigLoader, DuplicateKeysAreRefusedWithBothLines) {
  // A second tenants: block at the end, and name: twice in
  // one listener: YAML keeps one of each silently.
  std::string yaml = std::string(kGood) + "tenants: []\n";
  auto listener_name = yaml.find("    protocol: postgres");
  yaml.insert(listener_name, "    name: other\n");
  auto r = load_string(yaml);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].path, "listeners[0].name");
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_NE(r.errors[0].message.find("first at line 3"), std::string::npos) << r.errors[0].message;
  EXPECT_EQ(r.errors[1].path, "tenants");
  EXPECT_NE(r.errors[1].message.find("duplicate key \"tenants\" (first at line 16)"), std::string::npos)
      << r.errors[1].message;
  // The same keys in different mappings are not repeats.
  EXPECT_TRUE(load_string(kGood).ok());
}

// What YAML allows but a lookup by key would drop or misplace.
TEST(ConfigLoader, RefusesYamlThatWouldBeSilentlyMisread) {
  auto messages = [](const LoadResult& r) { return ::testing::PrintToString(r.errors.size()); };
  auto first = [](const LoadResult& r) { return r.errors.empty() ? ConfigError{} : r.errors.front(); };

  // A second document after ---.
  auto doc2 = load_string(std::string(kGood) + "---\nstate_file: /elsewhere\n");
  ASSERT_FALSE(doc2.ok());
  EXPECT_NE(first(doc2).message.find("second YAML document"), std::string::npos) << first(doc2).message;

  // A merge key: yaml-cpp would keep `<<` as a key of its own.
  auto merge = load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { a: { address: db:5432 } }
tenants:
  - &base
    name: acme
    phase: observe
  - <<: *base
    name: beta
)");
  ASSERT_FALSE(merge.ok());
  EXPECT_EQ(first(merge).line, 9);
  EXPECT_NE(first(merge).message.find("merge keys"), std::string::npos) << first(merge).message;

  // An alias that carries one section's settings into another.
  auto stray = load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { a: { address: db:5432 } }
tenants:
  - name: acme
    guard: &g { min_samples: 10 }
    shadow: *g
)");
  ASSERT_FALSE(stray.ok()) << messages(stray);
  EXPECT_EQ(first(stray).line, 8);
  EXPECT_EQ(first(stray).path, "tenants[].shadow");
  EXPECT_NE(first(stray).message.find("anchor at line 7 (tenants[].guard)"), std::string::npos)
      << first(stray).message;

  // The same setting repeated where it belongs is what anchors are for.
  auto reuse = load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { a: { address: db:5432 } }
tenants:
  - name: acme
    guard: &g { min_samples: 10 }
  - name: beta
    guard: *g
)");
  EXPECT_TRUE(reuse.ok()) << first(reuse).str();
}

TEST(ConfigLoader, RefusesValuesOfTheWrongType) {
  std::string y = kGood;
  y.replace(y.find("percent: 10"), 11, "percent: \"10\"");
  y.replace(y.find("min_samples: 200"), 16, "min_samples: '200'");
  y.replace(y.find("timeout_ms: 2000"), 16, "timeout_ms: [2000]");
  y.replace(y.find("name: acme"), 10, "name: \"\"");
  auto r = load_string(y);
  ASSERT_FALSE(r.ok());
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.str());
  auto has = [&](const std::string& path, const std::string& text) {
    for (const auto& e : r.errors)
      if (e.path == path && e.message.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("tenants[0].canary.percent", "quoted string \"10\"")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has("tenants[0].guard.min_samples", "quoted string \"200\"")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has("tenants[0].shadow.timeout_ms", "expected an integer")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has("tenants[0].name", "must not be empty")) << ::testing::PrintToString(got);
}

TEST(ConfigLoader, RefusesPortsOutOfRange) {
  for (const char* listen : {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:99999999999"}) {
    auto r = load_string(std::string("listeners:\n  - name: pg\n    listen: ") + listen +
                         "\n    targets: { a: { address: db:5432 } }\n");
    ASSERT_FALSE(r.ok()) << listen;
    EXPECT_EQ(r.errors.front().path, "listeners[0].listen") << listen;
  }
  auto r = load_string("listeners:\n  - name: pg\n    listen: 127.0.0.1:6432\n    targets: { a: { address: db:70000 } }\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.front().path, "listeners[0].targets.a.address");
}

TEST(ConfigLoader, PercentStepsAndCrossReferences) {
  std::string y = kGood;
  y.replace(y.find("percent: 10"), 11, "percent: 10.001");
  y.replace(y.find("migrations: [order_status]"), 26, "migrations: [nope]");
  auto r = load_string(y);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_NE(r.errors[0].message.find("0.01"), std::string::npos);
  EXPECT_NE(r.errors[1].message.find("no migration named \"nope\""), std::string::npos);
}

TEST(ConfigLoader, TlsModesNeedTheirFiles) {
  auto r = load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    tls: { mode: require }
    targets:
      legacy: { address: 127.0.0.1:5432, tls: { mode: verify-full } }
)");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[1].line, 6);
}

TEST(ConfigLoader, TargetClientCertificateNeedsItsKeyAndTls) {
  auto with = [](const std::string& tls) {
    return load_string("listeners:\n  - name: pg\n    listen: 127.0.0.1:6432\n    targets:\n"
                       "      legacy: { address: 127.0.0.1:5432, tls: " + tls + " }\n");
  };
  auto good = with("{ mode: require, cert: /s/tls.crt, key: /s/tls.key }");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.config->listeners[0].targets[0].tls.cert, "/s/tls.crt");
  EXPECT_EQ(good.config->listeners[0].targets[0].tls.key, "/s/tls.key");
  for (const char* bad : {"{ mode: require, cert: /s/tls.crt }", "{ mode: require, key: /s/tls.key }",
                          "{ mode: disable, cert: /s/tls.crt, key: /s/tls.key }"}) {
    auto r = with(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.errors.front().path, "listeners[0].targets.legacy.tls") << bad;
  }
}

// Each of these passed check-config once and then crashed or was refused by `run`.
TEST(ConfigLoader, RefusesWhatRunCouldNotServe) {
  auto r = load_string(R"(listeners:
  - name: pg
    listen: localhost:6432
    targets: {}
admin: { listen: "db-admin:9187" }
tenants:
  - name: acme
    canary: { percent: 5 }
  - name: acme
migrations:
  m:
    table: orders
    legacy_column: status
    unified_column: unified_status
    map: { a: A }
    transitions: [[A, [B]]]
)");
  ASSERT_FALSE(r.ok());
  std::vector<std::pair<int, std::string>> got;
  for (const auto& e : r.errors) got.emplace_back(e.line, e.message);
  auto has = [&](int line, const char* text) {
    for (const auto& [l, m] : got)
      if (l == line && m.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(3, "expected an IP address")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has(4, "at least one target")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has(5, "expected an IP address")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has(8, "needs a \"phase\" or a \"read_target\"")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has(9, "duplicate tenant name")) << ::testing::PrintToString(got);
  EXPECT_TRUE(has(16, "expected a state name")) << ::testing::PrintToString(got);
}

TEST(ConfigLoader, ListensOnIpv6) {
  auto r = load_string("listeners:\n  - name: pg\n    listen: \"[::1]:6432\"\n    targets: { a: { address: db:5432 } }\n");
  ASSERT_TRUE(r.ok()) << r.errors.front().message;
  EXPECT_EQ(r.config->listeners[0].listen.host, "::1");
}

TEST(ConfigLoader, ReverseNamesOnlyPairsOfTheMap) {
  auto r = load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { a: { address: db:5432 } }
migrations:
  m:
    table: orders
    legacy_column: status
    unified_column: status
    map: { a: A, b: A, c: C }
    reverse: { A: c, Z: z }
)");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 3u) << r.errors[0].str();
  EXPECT_NE(r.errors[0].message.find("must differ from legacy_column"), std::string::npos);
  EXPECT_NE(r.errors[1].message.find("\"c\" does not map to \"A\""), std::string::npos) << r.errors[1].message;
  EXPECT_NE(r.errors[2].message.find("\"Z\" is not a unified value"), std::string::npos) << r.errors[2].message;
}
