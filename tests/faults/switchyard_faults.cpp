// switchyard with faults injected, for the tests that show a crash inside a
// session is contained (tests/integration/test_session_crash.py). The same
// proxy library as the switchyard binary; only this main builds a FaultPlan,
// from the environment:
//
//   SY_FAULT_THROW_IN=from_server|from_client   the session loop that throws
//   SY_FAULT_APPLICATION_NAME=NAME              only sessions of this client
//
//   switchyard-faults run -c FILE
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "config/loader.h"
#include "proxy/server/server.h"
#include "proxy/session/fault_plan.h"
#include "proxy/telemetry/log.h"

int main(int argc, char** argv) {
  if (argc != 4 || std::strcmp(argv[1], "run") != 0 || std::strcmp(argv[2], "-c") != 0) {
    std::cerr << "usage: switchyard-faults run -c FILE\n";
    return 2;
  }
  auto loaded = sy::config::load_file(argv[3]);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << argv[3] << ":" << e.str() << "\n";
    return 1;
  }
  auto env = [](const char* name) { return std::string(std::getenv(name) ? std::getenv(name) : ""); };
  sy::proxy::FaultPlan plan{.throw_in = env("SY_FAULT_THROW_IN"), .application_name = env("SY_FAULT_APPLICATION_NAME")};
  sy::log::init(loaded.config->runtime.log_level);
  std::signal(SIGPIPE, SIG_IGN);
  sy::proxy::Server server(loaded.config, &plan);
  return server.run();
}
