#include "rewrite/common/entity_column.h"

#include "rewrite/sql_text.h"

namespace sy::rewrite {

bool is_entity_column(const CompiledMigration& m, std::string_view column, Dialect dialect) {
  const auto& entity = m.cfg->entity_column;
  return dialect == Dialect::Mysql ? iequals(column, entity) : column == entity;
}

}  // namespace sy::rewrite
