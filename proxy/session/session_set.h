#pragma once
// The live sessions, so shutdown can count them while draining and terminate
// the ones still open when the drain deadline passes.
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "proxy/session/session.h"

namespace sy::proxy {


class SessionSet {
 public:
  void add(const std::shared_ptr<Session>& s) {
    std::lock_guard lock(mu_);
    live_[s.get()] = s;
  }
  void remove(const Session* s) {
    std::lock_guard lock(mu_);
    live_.erase(s);
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return live_.size();
  }
  std::vector<std::shared_ptr<Session>> snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<Session>> out;
    for (const auto& [_, weak] : live_)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const Session*, std::weak_ptr<Session>> live_;
};

}  // namespace sy::proxy
