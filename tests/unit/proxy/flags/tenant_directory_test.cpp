#include "proxy/flags/tenant_directory.h"

#include <gtest/gtest.h>

#include "config/loader.h"

using namespace sy;

namespace {
std::shared_ptr<const config::Config> load(const std::string& on_unsupported) {
  auto r = config::load_string(R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { legacy: { address: 127.0.0.1:5432 } }
tenants:
  - name: acme
    phase: dual_write
    on_unsupported: )" + on_unsupported + R"(
    migrations: [order_status]
migrations:
  order_status:
    table: orders
    legacy_column: status
    unified_column: unified_status
    map: { placed: PLACED }
)");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().message);
  return r.config;
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
