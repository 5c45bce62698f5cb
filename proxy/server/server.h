#pragma once
// The running proxy: worker threads, listeners, signal handling and graceful
// shutdown. Kept behind a pimpl so main.cpp does not pull in Asio.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace sy::proxy {

//! One `config_warning` event per warning of a loaded file (start-up, reload).
void log_config_warnings(const std::vector<config::ConfigError>& warnings, const std::string& source);

struct FaultPlan;

class Server {
 public:
  //! `faults`: test builds only (tests/faults/); the switchyard binary passes none.
  explicit Server(std::shared_ptr<const config::Config> cfg, const FaultPlan* faults = nullptr);
  ~Server();
  //! Serves until SIGTERM/SIGINT and the drain that follows; returns the exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sy::proxy
