// switchyard command line: `run` serves, `check-config` validates.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "proxy/telemetry/log.h"
#include "proxy/flags/canary.h"
#include "proxy/ops/backfill.h"
#include "proxy/ops/explain.h"
#include "proxy/ops/verify.h"
#include "proxy/server/server.h"

namespace {

constexpr const char* kUsage = R"(usage:
  switchyard run -c FILE            serve the listeners in FILE
  switchyard check-config -c FILE   validate FILE; exit 0, or 1 with each error and its line
  switchyard explain -c FILE --tenant T [--phase P] [--dialect postgres|mysql] [--json] "SQL"
                                    show what the rewrite does to SQL, and why
  switchyard verify -c FILE --tenant T [--target NAME] [--json]
                                    per migration: rows, consistent, inconsistent, unmapped, %;
                                    exit 0 when no row is inconsistent, 1 when some are
  switchyard backfill -c FILE --tenant T [--batch 1000] [--sleep-ms N] [--key COLUMN]
                      [--target NAME] [--progress FILE] [--restart]
                                    set the unified column of rows written before dual_write, in
                                    batches; resumable, progress shown
  switchyard bucket --tenant T [--percent P] KEY...
                                    canary bucket (0..9999) of each sticky KEY, and whether a
                                    canary of P percent includes it (same on every host)
  switchyard --version
)";

struct Args {
  std::string command;
  std::string config;
  std::string tenant;
  std::string phase;
  std::string dialect;  //!< empty: the protocol of the tenant's listener
  std::string sql;
  bool json = false;
  double percent = -1;
  std::vector<std::string> keys;
  std::string target;
  sy::proxy::BackfillOptions backfill;
};

bool parse_unsigned(const char* s, unsigned& out) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s, &end, 10);
  if (!*s || *end || v > 100000000) return false;
  out = static_cast<unsigned>(v);
  return true;
}

bool parse_args(int argc, char** argv, Args& a) {
  if (argc < 2) return false;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc)
      a.config = argv[++i];
    else if (arg == "--tenant" && i + 1 < argc)
      a.tenant = argv[++i];
    else if (arg == "--phase" && i + 1 < argc)
      a.phase = argv[++i];
    else if (arg == "--json")
      a.json = true;
    else if (arg == "--dialect" && i + 1 < argc)
      a.dialect = argv[++i];
    else if (a.command == "explain" && a.sql.empty() && (arg.empty() || arg[0] != '-'))
      a.sql = arg;
    else if (arg == "--target" && i + 1 < argc)
      a.target = a.backfill.target = argv[++i];
    else if (arg == "--batch" && i + 1 < argc) {
      if (!parse_unsigned(argv[++i], a.backfill.batch) || a.backfill.batch == 0) return false;
    } else if (arg == "--sleep-ms" && i + 1 < argc) {
      if (!parse_unsigned(argv[++i], a.backfill.sleep_ms)) return false;
    } else if (arg == "--key" && i + 1 < argc)
      a.backfill.key = argv[++i];
    else if (arg == "--progress" && i + 1 < argc)
      a.backfill.progress = argv[++i];
    else if (arg == "--restart")
      a.backfill.restart = true;
    else if (arg == "--percent" && i + 1 < argc)
      a.percent = std::atof(argv[++i]);
    else if (a.command == "bucket")
      a.keys.push_back(arg);
    else
      return false;
  }
  return !a.config.empty() || a.command == "bucket";
}

int bucket(const Args& a) {
  if (a.tenant.empty() || a.keys.empty()) {
    std::cerr << kUsage;
    return 2;
  }
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
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0)) {
    std::cout << "switchyard " SWITCHYARD_VERSION "\n";
    return 0;
  }
  Args args;
  if (!parse_args(argc, argv, args) || (args.command != "run" && args.command != "check-config" &&
                                        args.command != "explain" && args.command != "bucket" &&
                                        args.command != "verify" && args.command != "backfill")) {
    std::cerr << kUsage;
    return 2;
  }
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
  if ((args.command == "verify" || args.command == "backfill") && args.tenant.empty()) {
    std::cerr << args.command << ": --tenant is required\n" << kUsage;
    return 2;
  }
  if (args.command == "verify") return sy::proxy::verify(*loaded.config, args.tenant, args.target, args.json);
  if (args.command == "backfill") {
    args.backfill.tenant = args.tenant;
    return sy::proxy::backfill(*loaded.config, args.backfill);
  }
  if (args.command == "explain") return sy::proxy::explain(*loaded.config, args.tenant, args.phase, args.dialect, args.sql, args.json);
  sy::log::init(loaded.config->runtime.log_level);
  sy::proxy::log_config_warnings(loaded.warnings, args.config);
  raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);
  sy::proxy::Server server(loaded.config);
  return server.run();
}
