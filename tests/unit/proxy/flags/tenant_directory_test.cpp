#include "proxy/flags/tenant_directory.h"

#include <gtest/gtest.h>

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
