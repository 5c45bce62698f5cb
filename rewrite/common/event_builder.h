#pragma once
// The event a rewrite reports for one legacy value it maps, the same in every
// dialect (the outcome may be adjusted afterwards, e.g. to Unmapped).
#include <string>
#include <string_view>

#include "config/config.h"
#include "rewrite/common/value.h"
#include "rewrite/decision.h"
#include "rewrite/migration_set.h"

namespace sy::rewrite {

class EventBuilder {
 public:
  //! Legacy text longer than this is cut (and ends in "...") in events.
  static constexpr size_t kMaxLegacyText = 200;

  EventBuilder(std::string_view sql, config::Phase phase) : sql_(sql), phase_(phase) {}

  //! Observed in `observe`, else Rewritten. `table` is the name for logs;
  //! `entity_id` is empty unless the statement pins one row.
  MigrationEvent operator()(const CompiledMigration& m, const std::string& table, const Value& v,
                            const std::string& entity_id = "") const;

 private:
  std::string_view sql_;
  config::Phase phase_;
};

}  // namespace sy::rewrite
