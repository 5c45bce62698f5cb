// switchyard's entry point: `run` serves; the other commands (proxy/cli lists
// them) validate, explain, report or backfill and exit.
#include <sys/resource.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "proxy/cli/command_line.h"
#include "proxy/telemetry/log.h"
#include "proxy/flags/canary.h"
#include "proxy/fleet/init_flags_store.h"
#include "proxy/ops/backfill.h"
#include "proxy/ops/explain.h"
#include "proxy/ops/verify.h"
#include "proxy/server/server.h"

namespace {

int bucket(const sy::cli::CommandLine& a) {
  for (const auto& key : a.keys) {
    auto b = sy::proxy::canary_bucket(a.tenant, key);
    std::cout << key << "\t" << b;
    if (a.percent >= 0) std::cout << "\t" << (sy::proxy::in_canary(b, a.percent) ? "canary" : "base");
    std::cout << "\n";
  }
  return 0;
}

void print_errors(const std::string& file, const std::vector<sy::config::ConfigError>& errors) {
  for (const auto& e : errors) std::cerr << file << ":" << e.str() << "\n";
  std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in " << file << "\n";
}

// A proxy holds two descriptors per session; the default soft limit of 1024
// would cap it near 500 clients, so take what the hard limit allows.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = sy::cli::parse_command_line(argc, argv, SWITCHYARD_VERSION, std::cout, std::cerr);
  if (!parsed.line) return parsed.exit_status;
  auto& args = *parsed.line;
  if (args.command == "bucket") return bucket(args);
  auto loaded = sy::config::load_file(args.config);
  if (args.command == "check-config") {
    if (!loaded.ok()) {
      print_errors(args.config, loaded.errors);
      return 1;
    }
    for (const auto& w : loaded.warnings) std::cerr << args.config << ":" << w.str() << " (warning)\n";
    std::cout << args.config << ": ok (" << loaded.config->listeners.size() << " listeners, "
              << loaded.config->tenants.size() << " tenants, " << loaded.config->migrations.size()
              << " migrations" << (loaded.warnings.empty() ? "" : ", " + std::to_string(loaded.warnings.size()) + " warnings")
              << ")\n";
    return 0;
  }
  if (!loaded.ok()) {
    print_errors(args.config, loaded.errors);
    return 1;
  }
  if (args.command == "init-flags-store") return sy::proxy::init_flags_store(*loaded.config, std::cout, std::cerr);
  if (args.command == "verify") return sy::proxy::verify(*loaded.config, args.tenant, args.target, args.json);
  if (args.command == "backfill") return sy::proxy::backfill(*loaded.config, args.backfill);
  if (args.command == "explain") return sy::proxy::explain(*loaded.config, args.tenant, args.phase, args.dialect, args.sql, args.json);
  sy::log::init(loaded.config->runtime.log_level);
  sy::proxy::log_config_warnings(loaded.warnings, args.config);
  raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);
  sy::proxy::Server server(loaded.config);
  return server.run();
}
