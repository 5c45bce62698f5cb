#include "proxy/flags/tenant_directory.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>

#include "tests/unit/support/test_config.h"

using namespace sy;

namespace {
std::shared_ptr<const config::Config> load(const std::string& on_unsupported) {
  auto order_status = test::order_status_yaml("{ placed: PLACED }");
  return test::load_config(
      test::dual_write_yaml("[order_status]", order_status, "acme", "    on_unsupported: " + on_unsupported + "\n"));
}

bool rejects_unsupported(const proxy::TenantDirectory& dir) {
  auto tenant = dir.current()->find("acme");
  auto d = tenant->rewriter->decide("UPDATE orders SET (status, id) = ('placed', 1)", tenant->cfg.phase, false);
  EXPECT_NE(d, nullptr);
  return d && d->rejected;
}
}  // namespace

// The rewriter caches decisions with on_unsupported baked in, so a reload that
// flips it must not keep the old rewriter just because the migrations match.
TEST(TenantDirectory, ReloadAppliesOnUnsupportedAtOnce) {
  proxy::TenantDirectory dir(load("forward"), nullptr);
  EXPECT_FALSE(rejects_unsupported(dir));
  ASSERT_EQ(dir.reload(load("reject"), "test").status, 200);
  EXPECT_TRUE(rejects_unsupported(dir));
  ASSERT_EQ(dir.reload(load("forward"), "test").status, 200);
  EXPECT_FALSE(rejects_unsupported(dir));
}

namespace {
std::shared_ptr<const config::Config> load_flags(const std::string& state_file) {
  auto r = config::load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { legacy: { address: 127.0.0.1:5432 }, replica: { address: 127.0.0.1:5433 } }
state_file: )" + state_file + R"(
tenants:
  - name: acme
    phase: observe
    canary: { phase: dual_write, percent: 10 }
)");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
  return r.config;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/sy_flags_XXXXXX";
  return ::mkdtemp(tmpl);
}

config::Tenant acme(const proxy::TenantDirectory& dir) { return dir.current()->find("acme")->cfg; }
}  // namespace

TEST(TenantDirectory, ATypedChangeSetsLeavesAndGoesBackToTheFile) {
  auto state = temp_dir() + "/flags.json";
  proxy::TenantDirectory dir(load_flags(state), nullptr);
  using config::Phase;
  ASSERT_EQ(dir.apply("acme", {.phase = Phase::DualWrite}, "guard").status, 200);
  EXPECT_EQ(acme(dir).phase, Phase::DualWrite);
  EXPECT_EQ(acme(dir).canary.percent, 10);  // left as it was

  ASSERT_EQ(dir.apply("acme", {.canary = {.percent = 20}, .read_target = "replica"}, "test").status, 200);
  EXPECT_EQ(acme(dir).canary.phase, Phase::DualWrite);  // the canary's other settings stay
  EXPECT_EQ(acme(dir).canary.percent, 20);
  EXPECT_EQ(acme(dir).read_target, "replica");

  ASSERT_EQ(dir.apply("acme", {.phase = proxy::from_file, .read_target = proxy::from_file}, "test").status, 200);
  EXPECT_EQ(acme(dir).phase, Phase::Observe);
  EXPECT_EQ(acme(dir).read_target, "");
  EXPECT_FALSE(dir.current()->find("acme")->overrides.phase);
  EXPECT_TRUE(dir.current()->find("acme")->overrides.canary);

  // Back to the file's canary, field by field: no override is left at all.
  ASSERT_EQ(dir.apply("acme", {.canary = {.percent = proxy::from_file}}, "test").status, 200);
  EXPECT_TRUE(dir.current()->find("acme")->overrides.empty());
}

TEST(TenantDirectory, AppliedChangesAreSavedAndReadBackAtStart) {
  auto state = temp_dir() + "/flags.json";
  {
    proxy::TenantDirectory dir(load_flags(state), nullptr);
    ASSERT_EQ(dir.apply("acme", {.phase = config::Phase::DualWrite, .canary = {.phase = std::nullopt, .read_target = "replica"}},
                        "test").status,
              200);
  }
  proxy::TenantDirectory again(load_flags(state), nullptr);
  EXPECT_EQ(acme(again).phase, config::Phase::DualWrite);
  EXPECT_FALSE(acme(again).canary.phase);
  EXPECT_EQ(acme(again).canary.read_target, "replica");
  EXPECT_EQ(acme(again).canary.percent, 10);
}

TEST(TenantDirectory, TheStateFileIsJsonOfTheOverridesOnly) {
  auto state = temp_dir() + "/flags.json";
  proxy::TenantDirectory dir(load_flags(state), nullptr);
  ASSERT_EQ(dir.apply("acme", {.phase = config::Phase::DualWrite}, "test").status, 200);
  std::ifstream in(state);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"tenants\":{\"acme\":{\"phase\":\"dual_write\"}}}\n");
}

TEST(TenantDirectory, AChangeThatCannotBeSavedIsNotMade) {
  auto state = temp_dir() + "/missing-dir/flags.json";
  proxy::TenantDirectory dir(load_flags(state), nullptr);
  auto version = dir.version();
  auto r = dir.apply("acme", {.phase = config::Phase::DualWrite}, "test");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.error.find("change not applied: cannot write " + state + ".tmp"), std::string::npos) << r.error;
  EXPECT_EQ(acme(dir).phase, config::Phase::Observe);
  EXPECT_EQ(dir.version(), version);
}

TEST(TenantDirectory, RefusedChanges) {
  proxy::TenantDirectory dir(load_flags(temp_dir() + "/flags.json"), nullptr);
  EXPECT_EQ(dir.apply("nobody", {.phase = config::Phase::Off}, "test").status, 404);
  EXPECT_EQ(dir.apply("acme", {}, "test").status, 400);
  auto r = dir.apply("acme", {.canary = {.phase = std::nullopt}}, "test");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.details, std::vector<std::string>{"canary: a canary with a percent needs a \"phase\" or a \"read_target\""});
  EXPECT_EQ(acme(dir).canary.phase, config::Phase::DualWrite);
}
