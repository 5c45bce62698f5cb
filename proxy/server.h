#pragma once
// The running proxy: worker threads, listeners, signal handling and graceful
// shutdown. Kept behind a pimpl so main.cpp does not pull in Asio.
#include <memory>

#include "config/config.h"

namespace sy::proxy {

class Server {
 public:
  explicit Server(std::shared_ptr<const config::Config> cfg);
  ~Server();
  //! Serves until SIGTERM/SIGINT and the drain that follows; returns the exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sy::proxy
