#pragma once
// Configs for the tests (and the rewrite bench) that need one loaded but are
// not about the loader: a PostgreSQL listener, one tenant in dual_write and
// the migrations under test, so each file spells out only the migrations.
// No gtest here: the bench includes it too.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/loader.h"

namespace sy::test {

//! A config whose one listener (PostgreSQL, a legacy target nothing connects
//! to) serves tenant `tenant` in dual_write running `migrations` (a YAML flow
//! list). `migration_defs` is the body of the migrations: section (entries
//! indented by two); `tenant_extra`, more lines of the tenant, each indented by four.
inline std::string dual_write_yaml(std::string_view migrations, std::string_view migration_defs,
                                   std::string_view tenant = "t", std::string_view tenant_extra = "") {
  std::string yaml = R"(listeners:
  - name: pg
    listen: 127.0.0.1:6432
    targets: { legacy: { address: 127.0.0.1:5432 } }
tenants:
  - name: )";
  yaml.append(tenant).append("\n    phase: dual_write\n    migrations: ").append(migrations).append("\n");
  yaml.append(tenant_extra).append("migrations:\n").append(migration_defs);
  return yaml;
}

//! The migration most tests rewrite: orders.status → unified_status, mapped
//! by `map` (a YAML flow mapping), then `extra` lines indented by four.
inline std::string order_status_yaml(std::string_view map, std::string_view extra = "") {
  std::string yaml = R"(  order_status:
    table: orders
    legacy_column: status
    unified_column: unified_status
    map: )";
  return yaml.append(map).append("\n").append(extra);
}

//! The config `yaml` loads to. When it does not load this throws with the
//! loader's first error, which fails the test (or stops the bench) that asked.
inline std::shared_ptr<const config::Config> load_config(const std::string& yaml) {
  auto r = config::load_string(yaml);
  if (!r.ok()) throw std::runtime_error(r.errors.empty() ? "config did not load" : r.errors.front().str());
  return r.config;
}

}  // namespace sy::test
