#pragma once
// From what the read switch learned about a SELECT (rewrite::ReadShape) to
// how the comparator compares its two answers: which output columns carry a
// legacy status (compared as map(value)), which are ignored, the order and
// the LIMIT, and the column that names a row in a diff.
//
// Comparable at all? legacy' = reverse(unified) equals legacy on a consistent
// row only where reverse(map(legacy)) == legacy. A status output is mapped on
// both sides, so any map works there. But a statement that filters, groups,
// orders or computes on the legacy column of a migration whose map does not
// round-trip (Shipped and Dispatched both DISPATCHED, read back as
// Dispatched) answers differently by design: its shadow is dropped
// ("not_comparable"), never counted as a mismatch.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "proxy/shadow/comparator.h"
#include "rewrite/decision.h"
#include "rewrite/migration_set.h"

namespace sy::shadow {

//! reverse(map(L)) == L for every legacy value L of the map.
bool round_trips(const rewrite::CompiledMigration& m);

//! Why the two forms of this read cannot be compared, or "" when they can.
std::string not_comparable(const rewrite::ReadShape& shape, const rewrite::MigrationSet& migrations);

//! The LIMIT's value: the constant, or the text parameter it names.
std::optional<size_t> limit_of(const rewrite::ReadShape& shape, const std::vector<std::optional<std::string>>& params,
                               const std::vector<int>& formats);

CompareOptions compare_options(const rewrite::ReadShape& shape, const rewrite::MigrationSet& migrations,
                               const std::vector<std::string>& ignore_columns, const std::vector<Column>& columns,
                               std::optional<size_t> limit);

}  // namespace sy::shadow
