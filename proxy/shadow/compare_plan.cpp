#include "proxy/shadow/compare_plan.h"

#include <algorithm>
#include <cstdlib>

namespace sy::shadow {

namespace {
const rewrite::CompiledMigration* by_name(const rewrite::MigrationSet& ms, const std::string& name) {
  for (const auto& m : ms.all())
    if (m.cfg->name == name) return &m;
  return nullptr;
}
}  // namespace

bool round_trips(const rewrite::CompiledMigration& m) {
  for (const auto& [legacy, unified] : m.map) {
    const std::string* back = m.reverse.legacy_for(unified);
    if (!back || *back != legacy) return false;
  }
  return true;
}

std::string not_comparable(const rewrite::ReadShape& shape, const rewrite::MigrationSet& ms) {
  for (const auto& name : shape.read_elsewhere) {
    const auto* m = by_name(ms, name);
    if (!m) return "migration " + name + " is no longer configured";
    if (!round_trips(*m))
      return "the statement filters, groups, orders or computes on the legacy column of " + name +
             ", whose map does not round-trip (reverse(map(legacy)) != legacy)";
  }
  for (const auto& so : shape.status_outputs)
    if (!by_name(ms, so.migration)) return "migration " + so.migration + " is no longer configured";
  return {};
}

std::optional<size_t> limit_of(const rewrite::ReadShape& shape, const std::vector<std::optional<std::string>>& params,
                               const std::vector<int>& formats) {
  if (shape.limit >= 0) return static_cast<size_t>(shape.limit);
  if (shape.limit_param <= 0) return std::nullopt;
  size_t i = static_cast<size_t>(shape.limit_param - 1);
  if (i >= params.size() || !params[i] || (i < formats.size() && formats[i] != 0)) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(params[i]->c_str(), &end, 10);
  if (!end || *end || v < 0) return std::nullopt;
  return static_cast<size_t>(v);
}

CompareOptions compare_options(const rewrite::ReadShape& shape, const rewrite::MigrationSet& ms,
                               const std::vector<std::string>& ignore_columns, const std::vector<Column>& columns,
                               std::optional<size_t> limit) {
  CompareOptions o;
  o.columns.resize(columns.size());
  std::string key_name;
  for (const auto& so : shape.status_outputs) {
    const auto* m = by_name(ms, so.migration);
    if (!m || so.position >= o.columns.size()) continue;
    o.columns[so.position].map = &m->map;
    if (key_name.empty()) key_name = m->cfg->entity_column;
  }
  for (size_t i = 0; i < columns.size(); ++i)
    if (std::find(ignore_columns.begin(), ignore_columns.end(), columns[i].name) != ignore_columns.end())
      o.columns[i].ignore = true;
  o.ordered = shape.ordered;
  o.order_keys = shape.order_keys;
  o.limited = shape.limited;
  o.limit = limit;
  for (const std::string& want : {key_name, std::string("id")}) {
    if (o.key_column || want.empty()) continue;
    for (size_t i = 0; i < columns.size() && !o.key_column; ++i)
      if (columns[i].name == want) o.key_column = i;
  }
  return o;
}

}  // namespace sy::shadow
