#pragma once
// The migrations one tenant runs, indexed for the rewriter, plus the pre-filter
// that lets statements which cannot touch a mapped column skip parsing.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "rewrite/common/reverse_map.h"

namespace sy::rewrite {

struct CompiledMigration {
  const config::Migration* cfg = nullptr;
  std::unordered_map<std::string, std::string> map;  //!< legacy -> unified
  ReverseMap reverse;                                 //!< unified -> legacy, for switched reads

  const std::string* lookup(std::string_view legacy) const {
    auto it = map.find(std::string(legacy));
    return it == map.end() ? nullptr : &it->second;
  }
};

class MigrationSet {
 public:
  //! Copies what it needs: the set stays valid after the Config is replaced.
  MigrationSet(const config::Config& cfg, const config::Tenant& tenant);

  bool empty() const { return migrations_.empty(); }
  const std::vector<CompiledMigration>& all() const { return migrations_; }

  //! Migrations on relation `schema.rel` (schema empty when unqualified). A
  //! migration whose table has no schema matches the name in any schema.
  std::vector<const CompiledMigration*> for_table(std::string_view schema, std::string_view rel) const;

  //! The same for MySQL, where a migration's schema is a database and an
  //! unqualified table is in the session's database: taken to be the tenant's
  //! `match.database`, or any database when the tenant does not name one.
  std::vector<const CompiledMigration*> for_mysql_table(std::string_view database, std::string_view rel) const;

  //! Cheap, conservative test on raw text: false means the statement cannot
  //! write a mapped column (no write keyword or no table name in it, or no
  //! column name in an UPDATE or MERGE), so it needs no parse at all. True
  //! means "parse and look".
  bool may_touch(std::string_view sql) const;

  //! The read switch's pre-filter: false means `sql` names no migrated table
  //! (as a word, in any case), so no read in it can see a legacy column.
  bool may_read(std::string_view sql) const;

  //! Whether a statement must be parsed in `phase`: it may write a legacy
  //! column, or (read_switch, cleanup) read one.
  bool needs_parse(std::string_view sql, config::Phase phase) const {
    if (phase == config::Phase::Off) return false;
    if (may_touch(sql)) return true;
    return (phase == config::Phase::ReadSwitch || phase == config::Phase::Cleanup) && may_read(sql);
  }

  //! Migrations whose table name appears in `sql` as a whole word (case-insensitive).
  std::vector<const CompiledMigration*> mentioned_in(std::string_view sql) const;

 private:
  //! Migrations on `rel` in `schema`; an empty schema (or a migration without
  //! one) matches any.
  std::vector<const CompiledMigration*> in_schema(std::string_view schema, std::string_view rel) const;

  //! One pass of the needles over `sql`, until `enough(kinds found so far)`.
  template <class Enough>
  bool scan(std::string_view sql, Enough enough) const;

  std::vector<config::Migration> owned_;
  std::string tenant_database_;  //!< the tenant's match.database; empty = any
  std::vector<CompiledMigration> migrations_;
  // The pre-filter looks for three kinds of word in one pass over the text:
  // a write keyword, a migrated table name and a legacy column name.
  struct Needle {
    std::string lower;
    uint8_t kind;  //!< bit: 1 write keyword, 2 table, 4 column, 8 positional write keyword
  };
  std::vector<Needle> needles_;
  std::array<uint64_t, 256> by_first_char_{};  //!< needle indices (bitmask) by first byte, both cases
  bool always_parse_ = false;
};

}  // namespace sy::rewrite
