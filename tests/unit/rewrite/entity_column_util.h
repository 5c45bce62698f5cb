#pragma once
// Shared by the entity_column tests of both dialects.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "rewrite/decision.h"

namespace sy::test {

//! `yaml` with `entity_column: <column>` added after its line `unified_line`.
inline std::string with_entity_column(std::string yaml, std::string_view unified_line, std::string_view column) {
  auto at = yaml.find(unified_line);
  EXPECT_NE(at, std::string::npos) << unified_line;
  if (at != std::string::npos) yaml.insert(at + unified_line.size(), "    entity_column: " + std::string(column) + "\n");
  return yaml;
}

//! The entity_id `rw` reports for `sql`, a dual_write of one migrated column.
template <class Rewriter>
std::string entity_of(const Rewriter& rw, const std::string& sql) {
  auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite});
  EXPECT_EQ(d.action, rewrite::Decision::Action::Rewrite) << sql;
  return d.events.size() == 1 ? d.events[0].entity_id : "(" + std::to_string(d.events.size()) + " events)";
}

}  // namespace sy::test
