#include "rewrite/migration_set.h"

#include <algorithm>
#include <cctype>

#include "rewrite/common/unseen_sql.h"
#include "rewrite/sql_text.h"

namespace sy::rewrite {

namespace {

constexpr uint8_t kWrite = 1, kTable = 2, kColumn = 4;
// INSERT, REPLACE, COPY and LOAD DATA can write every column without naming
// one (`INSERT INTO orders VALUES (...)`), so for them the table is enough.
constexpr uint8_t kPositional = 8;
}  // namespace

MigrationSet::MigrationSet(const config::Config& cfg, const config::Tenant& tenant)
    : tenant_database_(tenant.match.database) {
  for (const auto& name : tenant.migrations)
    if (const auto* m = cfg.migration(name)) owned_.push_back(*m);
  migrations_.reserve(owned_.size());
  for (const auto& m : owned_) {
    CompiledMigration c;
    c.cfg = &m;
    for (const auto& [k, v] : m.map) c.map.emplace(k, v);
    c.reverse = ReverseMap(m);
    migrations_.push_back(std::move(c));
  }
  auto add = [&](std::string word, uint8_t kind) {
    for (auto& n : needles_)
      if (n.lower == word) {
        n.kind |= kind;
        return;
      }
    needles_.push_back({std::move(word), kind});
  };
  // Statements that can write a column all contain one of these words.
  for (const char* kw : {"update", "merge"}) add(kw, kWrite);
  for (const char* kw : {"insert", "copy", "replace", "load"}) add(kw, kWrite | kPositional);
  for (const auto& m : owned_) {
    add(ascii_lower(m.table), kTable);
    add(ascii_lower(m.legacy_column), kColumn);
  }
  if (needles_.size() > 64) {
    // More distinct names than the first-byte index has bits: stay correct,
    // parse everything rather than risk skipping a write.
    always_parse_ = true;
    return;
  }
  for (size_t i = 0; i < needles_.size(); ++i) {
    auto c = static_cast<unsigned char>(needles_[i].lower[0]);
    by_first_char_[c] |= uint64_t(1) << i;
    by_first_char_[static_cast<unsigned char>(std::toupper(c))] |= uint64_t(1) << i;
  }
}

std::vector<const CompiledMigration*> MigrationSet::in_schema(std::string_view schema, std::string_view rel) const {
  std::vector<const CompiledMigration*> out;
  for (const auto& m : migrations_) {
    if (m.cfg->table != rel) continue;
    if (!m.cfg->schema.empty() && !schema.empty() && m.cfg->schema != schema) continue;
    out.push_back(&m);
  }
  return out;
}

std::vector<const CompiledMigration*> MigrationSet::for_table(std::string_view schema, std::string_view rel) const {
  return in_schema(schema.empty() ? "public" : schema, rel);
}

std::vector<const CompiledMigration*> MigrationSet::for_mysql_table(std::string_view database,
                                                                   std::string_view rel) const {
  return in_schema(database.empty() ? std::string_view(tenant_database_) : database, rel);
}

std::vector<const CompiledMigration*> MigrationSet::mentioned_in(std::string_view sql) const {
  std::vector<const CompiledMigration*> out;
  for (const auto& m : migrations_)
    if (names_word(sql, ascii_lower(m.cfg->table))) out.push_back(&m);
  return out;
}

bool MigrationSet::may_touch(std::string_view sql) const {
  return scan(sql, [](uint8_t found) {
    return (found & (kWrite | kTable)) == (kWrite | kTable) && (found & (kColumn | kPositional));
  });
}

bool MigrationSet::may_read(std::string_view sql) const {
  // A read can see the legacy column without naming it (SELECT *, a whole-row
  // reference), so the table's name is what counts.
  return scan(sql, [](uint8_t found) { return (found & kTable) != 0; });
}

template <class Enough>
bool MigrationSet::scan(std::string_view sql, Enough enough) const {
  if (migrations_.empty()) return false;
  if (always_parse_) return true;
  uint8_t found = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    uint64_t candidates = by_first_char_[static_cast<unsigned char>(sql[i])];
    while (candidates) {
      int n = __builtin_ctzll(candidates);
      candidates &= candidates - 1;
      const auto& needle = needles_[n];
      if ((found & needle.kind) == needle.kind) continue;
      if (contains_ci(sql.substr(i, needle.lower.size()), needle.lower)) {
        found |= needle.kind;
        if (enough(found)) return true;
      }
    }
  }
  return false;
}

}  // namespace sy::rewrite
