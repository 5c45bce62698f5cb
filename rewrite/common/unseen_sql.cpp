#include "rewrite/common/unseen_sql.h"

#include <cctype>
#include <string>

#include "rewrite/sql_text.h"

namespace sy::rewrite {

bool names_word(std::string_view sql, std::string_view lower_word) {
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  for (size_t at = 0; at + lower_word.size() <= sql.size(); ++at) {
    if (!contains_ci(sql.substr(at, lower_word.size()), lower_word)) continue;
    bool starts = at == 0 || !word_char(sql[at - 1]);
    bool ends = at + lower_word.size() == sql.size() || !word_char(sql[at + lower_word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

std::vector<const CompiledMigration*> named_in(const MigrationSet& ms, std::string_view sql) {
  std::vector<const CompiledMigration*> out;
  for (const auto& m : ms.all())
    if (names_word(sql, ascii_lower(m.cfg->table)) || names_word(sql, ascii_lower(m.cfg->legacy_column))) out.push_back(&m);
  return out;
}

const CompiledMigration* may_write_in(const MigrationSet& ms, std::string_view text) {
  if (!ms.may_touch(text)) return nullptr;
  auto named = ms.mentioned_in(text);
  return named.empty() ? nullptr : named.front();
}

}  // namespace sy::rewrite
