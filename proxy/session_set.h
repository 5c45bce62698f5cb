#pragma once
// The live sessions, so shutdown can count them while draining and terminate
// the ones still open when the drain deadline passes.
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sy::proxy {

class PgSession;

class SessionSet {
 public:
  void add(const std::shared_ptr<PgSession>& s) {
    std::lock_guard lock(mu_);
    live_[s.get()] = s;
  }
  void remove(const PgSession* s) {
    std::lock_guard lock(mu_);
    live_.erase(s);
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return live_.size();
  }
  std::vector<std::shared_ptr<PgSession>> snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<PgSession>> out;
    for (const auto& [_, weak] : live_)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const PgSession*, std::weak_ptr<PgSession>> live_;
};

}  // namespace sy::proxy
