#include "rewrite/common/event_builder.h"

namespace sy::rewrite {

MigrationEvent EventBuilder::operator()(const CompiledMigration& m, const std::string& table, const Value& v,
                                        const std::string& entity_id) const {
  MigrationEvent ev;
  ev.migration = m.cfg->name;
  ev.table = table;
  ev.entity_id = entity_id;
  ev.literal = v.kind == Value::Kind::Literal;
  switch (v.kind) {
    case Value::Kind::Literal: ev.legacy = v.literal; break;
    case Value::Kind::Null: ev.legacy = "NULL"; break;
    case Value::Kind::Default: ev.legacy = "DEFAULT"; break;
    case Value::Kind::Expr: ev.legacy = std::string(v.text(sql_)); break;
  }
  if (ev.legacy.size() > kMaxLegacyText) ev.legacy = ev.legacy.substr(0, kMaxLegacyText) + "...";
  ev.outcome = phase_ == config::Phase::Observe ? Outcome::Observed : Outcome::Rewritten;
  return ev;
}

}  // namespace sy::rewrite
