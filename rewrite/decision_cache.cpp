#include "rewrite/decision_cache.h"

#include <iterator>

namespace sy::rewrite {

const std::shared_ptr<const Decision>* DecisionMap::find(std::string_view sql) const {
  auto it = map_.find(sql);
  return it == map_.end() ? nullptr : &it->second;
}

void DecisionMap::insert(std::string_view sql, std::shared_ptr<const Decision> d) {
  if (sql.size() > kMaxText) return;
  const uint64_t h = Hash{}(sql) | 1;  // never 0, the empty slot
  if (seen_.empty()) seen_.assign(kDoorkeeper, 0);
  auto& slot = seen_[(h >> 1) % kDoorkeeper];
  if (slot != h) {  // first sighting, or another text took the slot since
    slot = h;
    return;
  }
  if (map_.size() >= kMaxEntries) map_.clear();
  map_.emplace(std::string(sql), std::move(d));
}

DecisionTables& DecisionCache::tables(const std::shared_ptr<const void>& token) {
  auto it = by_rewriter_.find(token.get());
  if (it != by_rewriter_.end()) return *it->second.tables;
  // A rewriter this worker has not seen: often one that replaced another, so
  // this is when the tables of destroyed rewriters go.
  std::erase_if(by_rewriter_, [](const auto& kv) { return kv.second.token.expired(); });
  Entry e;
  e.token = token;
  return *by_rewriter_.emplace(token.get(), std::move(e)).first->second.tables;
}

}  // namespace sy::rewrite
