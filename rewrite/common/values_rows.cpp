#include "rewrite/common/values_rows.h"

namespace sy::rewrite {

void mark_legacy_default(PendingStatement& p, const CompiledMigration& m, const std::string& how) {
  p.mark_unsupported("legacy_default: " + how + " leaves " + m.cfg->table + "." + m.cfg->legacy_column +
                         " to its column default, whose unified value is not known",
                     &m);
}

Edit unified_column_edit(const InsertColumn& c, bool cleanup) {
  if (cleanup) return {c.legacy.begin, c.legacy.end - c.legacy.begin, c.quoted_unified};
  return {c.legacy.end, 0, ", " + c.quoted_unified};
}

Edit unified_value_edit(const Value& v, uint32_t after, std::string unified, bool cleanup) {
  if (cleanup) return {v.begin, v.end - v.begin, std::move(unified)};
  return {after, 0, ", " + unified};
}

void map_values_rows(const InsertColumn& c, const std::vector<RowItems>& rows, const EventBuilder& events,
                     const ValuesRowHooks& hooks, bool cleanup, PendingStatement& p) {
  if (rows.empty()) return p.mark_unsupported("cannot locate VALUES rows", c.m);
  p.edits.push_back(unified_column_edit(c, cleanup));
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != c.width) return p.mark_unsupported("VALUES row width does not match the column list", c.m);
    auto [first, last] = rows[r][c.index];
    if (first > last) return p.mark_unsupported("empty VALUES item", c.m);
    std::optional<Value> v = hooks.classify(r, first, last);
    if (!v) return;
    if (v->kind == Value::Kind::Default) return mark_legacy_default(p, *c.m, "a DEFAULT item in VALUES");
    auto ev = events(*c.m, c.table, *v);
    std::string unified = hooks.unified(*v, ev);
    if (!p.unsupported.empty()) return;
    if (unified.empty()) unified = "DEFAULT";  // keep: the unified column gets its default
    p.events.push_back(ev);
    if (cleanup && hooks.cleanup_text) unified = hooks.cleanup_text(*v, unified);
    p.edits.push_back(unified_value_edit(*v, v->end, std::move(unified), cleanup));
  }
}

}  // namespace sy::rewrite
