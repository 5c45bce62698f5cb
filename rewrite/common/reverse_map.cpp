#include "rewrite/common/reverse_map.h"

#include <algorithm>

namespace sy::rewrite {

ReverseMap::ReverseMap(const config::Migration& m) : unreversible_(m.unreversible) {
  for (const auto& [legacy, unified] : m.map) {
    if (legacy_for(unified)) continue;
    std::string chosen = legacy;
    for (const auto& [u, l] : m.reverse)
      if (u == unified) chosen = l;
    entries_.emplace_back(unified, std::move(chosen));
  }
}

const std::string* ReverseMap::legacy_for(std::string_view unified) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == unified; });
  return it == entries_.end() ? nullptr : &it->second;
}

std::string ReverseMap::legacy_view(std::string_view unified_sql, std::string_view legacy_sql, QuoteFn quote) const {
  std::string fallback(legacy_sql);
  if (unreversible_ == config::Unreversible::Null)
    fallback = "CASE WHEN false THEN " + std::string(legacy_sql) + " END";
  return case_expression(unified_sql, entries_, quote, fallback);
}

std::vector<std::string> ReverseMap::preimage(const std::function<bool(std::string_view)>& holds) const {
  std::vector<std::string> out;
  for (const auto& [unified, legacy] : entries_)
    if (holds(legacy)) out.push_back(unified);
  return out;
}

}  // namespace sy::rewrite
