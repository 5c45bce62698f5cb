#pragma once
// Maps the cancel keys handed to clients to the backend that issued them. A
// CancelRequest arrives on a fresh connection that carries nothing else, so
// this lookup is the only way to find the session's server.
#include <mutex>
#include <optional>
#include <unordered_map>

#include "config/config.h"
#include "protocol/pg/startup.h"

namespace sy::proxy {

class CancelRegistry {
 public:
  void add(pg::CancelKey key, const config::Endpoint& backend) {
    std::lock_guard lock(mu_);
    routes_[pack(key)] = backend;
  }
  void remove(pg::CancelKey key) {
    std::lock_guard lock(mu_);
    routes_.erase(pack(key));
  }
  std::optional<config::Endpoint> find(pg::CancelKey key) const {
    std::lock_guard lock(mu_);
    auto it = routes_.find(pack(key));
    if (it == routes_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static uint64_t pack(pg::CancelKey k) { return (uint64_t(k.pid) << 32) | k.secret; }
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, config::Endpoint> routes_;
};

}  // namespace sy::proxy
