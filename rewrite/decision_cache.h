#pragma once
// The decisions one worker thread has made, for every tenant's rewriter. Each
// worker owns one and passes it to TenantRewriter::decide, so a statement
// seen before costs one hash lookup with no lock and no write to memory that
// another thread reads. Not thread-safe: one owner thread.
//
// A rewriter is known by its liveness token. A rebuilt rewriter (reload with
// changed migrations) has a new token, so it starts empty; the tables of
// rewriters since destroyed are dropped when a new one first shows up.
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rewrite/decision.h"

namespace sy::rewrite {

//! Decisions for one (dialect, phase, simple/extended) of one rewriter,
//! keyed by the exact statement text.
//!
//! A text is kept from its second sighting on: a doorkeeper remembers the
//! hashes of recent texts, and only a text it remembers enters the map. A
//! stream of one-off texts (literals sent with the simple protocol, each
//! different) then neither fills the map nor churns the heap: the soak's
//! `pgbench -M simple` had made this the largest user of memory. The price is
//! one more decision for each text that does repeat (an ORM's statements,
//! prepared ones), once.
class DecisionMap {
 public:
  //! At most this many texts; the map is cleared when full (ORMs produce a
  //! bounded set of texts, so a full map means something unusual, and
  //! clearing costs nothing per hit, unlike LRU bookkeeping).
  static constexpr size_t kMaxEntries = 16384;
  //! Longer texts are decided but not cached (bulk INSERTs rarely repeat).
  static constexpr size_t kMaxText = 8192;
  //! Hashes the doorkeeper holds (8 bytes each, allocated at the first insert).
  static constexpr size_t kDoorkeeper = 4096;

  //! The cached decision (which may be null: "forward, nothing to log"), or
  //! nullptr when the text was not seen.
  const std::shared_ptr<const Decision>* find(std::string_view sql) const;
  //! Keeps the decision if the doorkeeper has seen `sql` before; else only
  //! remembers it.
  void insert(std::string_view sql, std::shared_ptr<const Decision> d);
  size_t size() const { return map_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::shared_ptr<const Decision>, Hash, std::equal_to<>> map_;
  std::vector<uint64_t> seen_;  //!< the doorkeeper: a text's hash in the slot it hashes to; 0 is empty
};

//! One rewriter's maps: by dialect x phase x (simple, extended).
using DecisionTables = std::array<DecisionMap, 20>;

class DecisionCache {
 public:
  //! The tables of the rewriter whose liveness token is `token`.
  DecisionTables& tables(const std::shared_ptr<const void>& token);
  //! Rewriters with tables here (live ones, and dead ones not yet dropped).
  size_t rewriters() const { return by_rewriter_.size(); }

 private:
  struct Entry {
    // Keeps the token's allocation (object and control block are one
    // make_shared block) so its address, the key, is not reused while this
    // entry exists.
    std::weak_ptr<const void> token;
    std::unique_ptr<DecisionTables> tables = std::make_unique<DecisionTables>();
  };
  std::unordered_map<const void*, Entry> by_rewriter_;
};

}  // namespace sy::rewrite
