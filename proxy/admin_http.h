#pragma once
// The admin HTTP API (Boost.Beast, one coroutine per connection). Kept behind
// this small interface so only admin_http.cpp compiles Beast.
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"

namespace boost::asio {
class io_context;
}

namespace sy::proxy {

class Metrics;

struct AdminDeps {
  Metrics* metrics = nullptr;
  //! Reasons the proxy is not ready (empty = ready); called per /readyz request.
  std::function<std::vector<std::string>()> not_ready;
};

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, const config::Endpoint& listen, AdminDeps deps);
  ~AdminServer();
  //! Binds and starts accepting; throws std::runtime_error on failure.
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sy::proxy
