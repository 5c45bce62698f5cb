#pragma once
// HTTP transport of the admin API (Boost.Beast, one coroutine per
// connection). Only admin_http.cpp compiles Beast.
#include <memory>

#include "config/config.h"

namespace boost::asio {
class io_context;
}

namespace sy::proxy {

class AdminApi;

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, const config::Endpoint& listen, std::shared_ptr<const AdminApi> api);
  ~AdminServer();
  //! Binds and starts accepting; throws std::runtime_error on failure.
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sy::proxy
