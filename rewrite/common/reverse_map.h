#pragma once
// reverse(unified): the legacy value a unified value reads back as in
// read_switch and cleanup. Both dialects' read switches build their SQL from
// it, so "what a switched read shows" has one definition.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "rewrite/common/case_expression.h"

namespace sy::rewrite {

class ReverseMap {
 public:
  ReverseMap() = default;
  explicit ReverseMap(const config::Migration& m);

  //! unified -> legacy, one entry per unified value of the map, in the map's
  //! order; the migration's `reverse:` picks the legacy value where the map
  //! is many-to-one (the tenant rules refuse a read phase that needs one and
  //! lacks it; until then the first legacy value in the file stands).
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  const std::string* legacy_for(std::string_view unified) const;

  //! legacy' in SQL: `CASE <unified> WHEN 'U' THEN 'L' ... ELSE <fallback> END`.
  //! The fallback (a unified value with no entry, or NULL) is the stored
  //! legacy column under `unreversible: legacy`; under `null` it is
  //! `CASE WHEN false THEN legacy END`, a NULL that still has the legacy
  //! column's type (NULLIF would turn a varchar into text: it compares with
  //! the text operator and returns its coerced argument).
  //! Either way the CASE resolves to the legacy column's type (unknown-typed
  //! literals take the one typed branch's type), so a client sees the type it
  //! saw before, enums included.
  std::string legacy_view(std::string_view unified_sql, std::string_view legacy_sql, QuoteFn quote) const;

  //! The unified values whose legacy value satisfies `holds`, in entries()
  //! order: the preimage of a predicate on legacy' restricted to the values
  //! that have a reverse entry.
  std::vector<std::string> preimage(const std::function<bool(std::string_view legacy)>& holds) const;

  config::Unreversible unreversible() const { return unreversible_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  config::Unreversible unreversible_ = config::Unreversible::Legacy;
};

}  // namespace sy::rewrite
