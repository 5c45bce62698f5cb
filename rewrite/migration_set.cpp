#include "rewrite/migration_set.h"

#include <algorithm>
#include <cctype>

#include "rewrite/sql_text.h"

namespace sy::rewrite {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// Statements that can write a column all contain one of these words.
bool has_write_keyword(std::string_view sql) {
  return contains_ci(sql, "update") || contains_ci(sql, "insert") || contains_ci(sql, "merge") ||
         contains_ci(sql, "copy");
}
}  // namespace

MigrationSet::MigrationSet(const config::Config& cfg, const config::Tenant& tenant) {
  for (const auto& name : tenant.migrations)
    if (const auto* m = cfg.migration(name)) owned_.push_back(*m);
  migrations_.reserve(owned_.size());
  for (const auto& m : owned_) {
    CompiledMigration c;
    c.cfg = &m;
    for (const auto& [k, v] : m.map) c.map.emplace(k, v);
    migrations_.push_back(std::move(c));
    add_unique(table_needles_, lower(m.table));
    add_unique(column_needles_, lower(m.legacy_column));
  }
}

std::vector<const CompiledMigration*> MigrationSet::for_table(std::string_view schema, std::string_view rel) const {
  std::vector<const CompiledMigration*> out;
  for (const auto& m : migrations_) {
    if (m.cfg->table != rel) continue;
    if (!m.cfg->schema.empty() && !schema.empty() && m.cfg->schema != schema) continue;
    if (!m.cfg->schema.empty() && schema.empty() && m.cfg->schema != "public") continue;
    out.push_back(&m);
  }
  return out;
}

bool MigrationSet::may_touch(std::string_view sql) const {
  if (migrations_.empty()) return false;
  bool table = false, column = false;
  for (const auto& t : table_needles_) table = table || contains_ci(sql, t);
  if (!table) return false;
  for (const auto& c : column_needles_) column = column || contains_ci(sql, c);
  return column && has_write_keyword(sql);
}

}  // namespace sy::rewrite
