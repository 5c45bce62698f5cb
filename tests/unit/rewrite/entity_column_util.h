#pragma once
// Shared by the entity_column tests of both dialects.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/loader.h"
#include "rewrite/decision.h"
#include "rewrite/migration_set.h"

namespace sy::test {

//! `yaml` with `entity_column: <column>` added after its line `unified_line`.
inline std::string with_entity_column(std::string yaml, std::string_view unified_line, std::string_view column) {
  auto at = yaml.find(unified_line);
  EXPECT_NE(at, std::string::npos) << unified_line;
  if (at != std::string::npos) yaml.insert(at + unified_line.size(), "    entity_column: " + std::string(column) + "\n");
  return yaml;
}

//! The entity_id a `Rewriter` over the first tenant of `yaml` reports for
//! `sql`, a dual_write of one migrated column.
template <class Rewriter>
std::string entity_of(const std::string& yaml, const std::string& sql) {
  auto loaded = config::load_string(yaml);
  if (!loaded.ok()) {
    ADD_FAILURE() << loaded.errors.at(0).str();
    return "(invalid config)";
  }
  rewrite::MigrationSet ms(*loaded.config, loaded.config->tenants.at(0));
  auto d = Rewriter(ms).rewrite(sql, {.phase = config::Phase::DualWrite});
  EXPECT_EQ(d.action, rewrite::Decision::Action::Rewrite) << sql;
  return d.events.size() == 1 ? d.events[0].entity_id : "(" + std::to_string(d.events.size()) + " events)";
}

}  // namespace sy::test
