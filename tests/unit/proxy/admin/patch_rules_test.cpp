// Every tenant-flag rule (config/tenant_rules) refuses the same setting twice:
// in the file, through the loader, and at run time, through PATCH.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "config/loader.h"
#include "proxy/admin/admin_api.h"

using namespace sy;

namespace {

std::string config_yaml(const std::string& tenant_lines, const std::string& match = "{ listener: pg, database: acme }") {
  return R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets:
      legacy: { address: 127.0.0.1:5432 }
      unified: { address: 127.0.0.1:5433 }
tenants:
  - name: acme
    match: )" + match + R"(
    phase: observe
)" + tenant_lines;
}

const char* kShadow = "    shadow: { target: unified, sample_percent: 5 }\n";

struct Rule {
  const char* name;
  std::string yaml;  //!< tenant lines that break the rule in the file
  const char* body;  //!< a PATCH that breaks it at run time, on a tenant with kShadow only
  const char* path;  //!< the setting, relative to the tenant
  const char* message;
};

const Rule kRules[] = {
    {"canary percent above 100", "    canary: { phase: dual_write, percent: 101 }\n",
     R"({"canary": {"phase": "dual_write", "percent": 101}})", "canary.percent", "from 0 to 100 in steps of 0.01"},
    {"canary percent below 0", "    canary: { phase: dual_write, percent: -1 }\n",
     R"({"canary": {"phase": "dual_write", "percent": -1}})", "canary.percent", "from 0 to 100 in steps of 0.01"},
    {"canary percent between steps", "    canary: { phase: dual_write, percent: 10.001 }\n",
     R"({"canary": {"phase": "dual_write", "percent": 10.001}})", "canary.percent", "steps of 0.01"},
    {"shadow sample_percent above 100", "    shadow: { target: unified, sample_percent: 150 }\n",
     R"({"shadow": {"sample_percent": 150}})", "shadow.sample_percent", "from 0 to 100 in steps of 0.01"},
    {"shadow sample_percent between steps", "    shadow: { target: unified, sample_percent: 0.005 }\n",
     R"({"shadow": {"sample_percent": 0.005}})", "shadow.sample_percent", "steps of 0.01"},
    {"canary percent without phase or read_target", "    canary: { percent: 5 }\n", R"({"canary": {"percent": 5}})",
     "canary", "a canary with a percent needs a \"phase\" or a \"read_target\""},
    {"read_target names no target", "    read_target: nowhere\n", R"({"read_target": "nowhere"})", "read_target",
     "no target named \"nowhere\" on listener pg"},
    {"canary read_target names no target", "    canary: { read_target: nowhere, percent: 5 }\n",
     R"({"canary": {"read_target": "nowhere", "percent": 5}})", "canary.read_target",
     "no target named \"nowhere\" on listener pg"},
};

bool has(const std::vector<config::ConfigError>& found, const std::string& path, const std::string& message) {
  for (const auto& e : found)
    if (e.path == path && e.message.find(message) != std::string::npos) return true;
  return false;
}

std::string loader_message(const Rule& rule) {
  for (const auto& e : config::load_string(config_yaml(rule.yaml)).errors)
    if (e.path == std::string("tenants[0].") + rule.path) return e.message;
  return "(the loader found nothing)";
}

struct Admin {
  std::shared_ptr<const config::Config> cfg;
  proxy::TenantDirectory dir;
  proxy::AdminApi api;
  explicit Admin(const std::string& yaml)
      : cfg(config::load_string(yaml).config), dir(cfg, nullptr), api(proxy::AdminDeps{.directory = &dir, .token = "t"}) {}
  proxy::AdminResponse patch(const std::string& body) const {
    return api.handle({.method = "PATCH", .target = "/v1/tenants/acme", .authorization = "Bearer t", .body = body,
                       .remote = "test"});
  }
};

}  // namespace

TEST(TenantRules, EveryRuleRefusesTheFileThroughTheLoader) {
  for (const auto& rule : kRules) {
    SCOPED_TRACE(rule.name);
    auto r = config::load_string(config_yaml(rule.yaml));
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(has(r.errors, std::string("tenants[0].") + rule.path, rule.message))
        << r.errors.front().str();
    EXPECT_GT(r.errors.front().line, 8);  // the tenant's own lines, not 0
  }
}

TEST(TenantRules, EveryRuleRefusesAPatchWith422AndChangesNothing) {
  Admin admin(config_yaml(kShadow));
  ASSERT_NE(admin.cfg, nullptr);
  const auto before = admin.dir.tenants_json();
  for (const auto& rule : kRules) {
    SCOPED_TRACE(rule.name);
    auto res = admin.patch(rule.body);
    EXPECT_EQ(res.status, 422) << res.body;
    // The same words as the loader's, for the same setting.
    rapidjson::Document doc;
    doc.Parse(res.body.c_str());
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("errors")) << res.body;
    std::vector<std::string> got;
    for (const auto& e : doc["errors"].GetArray()) got.emplace_back(e.GetString());
    EXPECT_EQ(got, std::vector<std::string>{std::string(rule.path) + ": " + loader_message(rule)}) << res.body;
  }
  EXPECT_EQ(admin.dir.tenants_json(), before);
}

// The loader used to check read_target only against match.listener; PATCH
// checked it against every listener the tenant can match. Both do that now.
TEST(TenantRules, WithoutMatchListenerATargetMustExistOnSomeListener) {
  auto r = config::load_string(config_yaml("    read_target: nowhere\n", "{ database: acme }"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.errors, "tenants[0].read_target", "no target named \"nowhere\" on any listener"));
  ASSERT_TRUE(config::load_string(config_yaml("    read_target: unified\n", "{ database: acme }")).ok());

  Admin admin(config_yaml("", "{ database: acme }"));
  EXPECT_EQ(admin.patch(R"({"read_target": "nowhere"})").status, 422);
  EXPECT_EQ(admin.patch(R"({"read_target": "unified"})").status, 200);
}

TEST(TenantRules, ACanaryThatIsNotALaterPhaseIsAWarningInBothPaths) {
  auto r = config::load_string(config_yaml("    canary: { phase: off, percent: 5 }\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(has(r.warnings, "tenants[0].canary", "not a later phase"));

  Admin admin(config_yaml(""));
  auto res = admin.patch(R"({"canary": {"phase": "off", "percent": 5}})");
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("\"warnings\":[\"the canary runs off, not a later phase"), std::string::npos) << res.body;
}

// Names are decoded, not ruled on: 400 from PATCH, and the same list of names in both.
TEST(TenantRules, PhaseAndStickyByNamesAreTheSameInBothPaths) {
  auto r = config::load_string(config_yaml("    canary: { phase: sideways, percent: 5, sticky_by: shoe }\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.errors, "tenants[0].canary.phase", config::phase_names()));
  EXPECT_TRUE(has(r.errors, "tenants[0].canary.sticky_by", config::sticky_by_names()));

  Admin admin(config_yaml(""));
  auto res = admin.patch(R"({"phase": "sideways"})");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find(config::phase_names()), std::string::npos) << res.body;
  res = admin.patch(R"({"canary": {"phase": "dual_write", "percent": 5, "sticky_by": "shoe"}})");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find(config::sticky_by_names()), std::string::npos) << res.body;
  // The alias the file accepts is accepted here too.
  EXPECT_EQ(admin.patch(R"({"canary": {"phase": "dual_write", "percent": 5, "sticky_by": "client_address"}})").status,
            200);
}

TEST(TenantRules, ASamplePercentNeedsAShadowInTheFile) {
  Admin admin(config_yaml(""));
  auto res = admin.patch(R"({"shadow": {"sample_percent": 5}})");
  EXPECT_EQ(res.status, 422);
  EXPECT_NE(res.body.find("has no shadow configured"), std::string::npos) << res.body;
}
