#pragma once
// The locks a session holds by name, kept the way both servers count them:
// each take needs its own release (PostgreSQL advisory locks, MySQL GET_LOCK).
// Shared by the two session-state models so their lock bookkeeping cannot drift.
#include <cstddef>
#include <map>
#include <string>

namespace sy::proto {

class HeldLocks {
 public:
  //! One more take of `name`. Past `max_names` distinct names the model stops
  //! counting and only remembers that some lock is held (the careful answer).
  void take(const std::string& name, size_t max_names) {
    if (counts_.size() >= max_names && !counts_.count(name)) unknown_ = true;
    else ++counts_[name];
  }
  void release(const std::string& name) {
    if (auto it = counts_.find(name); it != counts_.end() && --it->second <= 0) counts_.erase(it);
  }
  //! Every lock released (also what a session reset does).
  void release_all() {
    counts_.clear();
    unknown_ = false;
  }
  //! A lock was taken whose name or count could not be read.
  void take_unknown() { unknown_ = true; }
  bool any() const { return !counts_.empty() || unknown_; }

 private:
  std::map<std::string, int> counts_;  //!< name → times taken
  bool unknown_ = false;
};

}  // namespace sy::proto
