#pragma once
// Everything that is not a client's statement: the admin API, reloads (YAML
// parse, rewriter rebuild), PATCH persistence, config-file polling, target
// probes, rate sampling, signals and the drain. It runs on an io_context of
// its own, on its own thread, so a slow reload or a slow admin client never
// delays a session's statement on a worker.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/flags/tenant_directory.h"

namespace sy::proxy {

class AdminServer;
struct ListenerRuntime;
class Metrics;
class SessionSet;
class ShadowService;
class StatsSampler;
namespace fleet {
class FleetSync;
}

struct ControlPlaneDeps {
  std::shared_ptr<const config::Config> cfg;  //!< as loaded at start-up (listeners, admin, source path)
  TenantDirectory* directory = nullptr;
  Metrics* metrics = nullptr;
  SessionSet* sessions = nullptr;
  ShadowService* shadow = nullptr;  //!< the mismatch list and the guards, for the admin API
  //! The running listeners: a reload re-reads their certificate, key and CA files.
  std::vector<std::shared_ptr<ListenerRuntime>> listeners;
  //! Closes the listeners; called once, from the control thread, when draining starts.
  std::function<void()> stop_accepting;
  //! Ends every worker's run(); called when the drain is over (or on a second signal).
  std::function<void()> stop_workers;
};

class ControlPlane {
 public:
  explicit ControlPlane(ControlPlaneDeps deps);
  ~ControlPlane();

  //! Binds the admin API (throws std::runtime_error on failure), arms the
  //! signals and spawns the background loops. Then call run().
  void start();
  //! Serves the control plane on the calling thread until the drain is over.
  void run();
  //! Runs `f` on the control plane's thread (a guard trip's flag change).
  void post(std::function<void()> f);

  //! Reloads the config file named at start-up, and re-reads every listener's
  //! TLS certificate, key and CA files (certificate rotation). An invalid file,
  //! or a TLS file that cannot be used, changes nothing: the running config and
  //! certificates stay, and the errors are logged and returned.
  ChangeResult reload(const std::string& who);

 private:
  boost::asio::awaitable<void> probe_loop();
  boost::asio::awaitable<void> watch_config_file();
  boost::asio::awaitable<void> sample_stats();
  //! Every kTrimEvery: hands the allocator's free pages back to the kernel.
  boost::asio::awaitable<void> return_free_memory();
  static constexpr std::chrono::seconds kTrimEvery{30};
  boost::asio::awaitable<void> drain(std::chrono::milliseconds timeout);
  void wait_for_hangup();  //!< SIGHUP: reload
  void wait_for_stop();    //!< SIGTERM/SIGINT: drain; a second one: exit now
  std::vector<std::string> not_ready();
  ChangeResult reload_failed(const std::string& who, std::vector<std::string> errors);
  //! What the config file and the running listeners' TLS files are now
  //! (inode, size, mtime of each): a change of any of them reloads.
  std::string watched_files_stamp() const;

  ControlPlaneDeps deps_;
  boost::asio::io_context io_{1};
  std::unique_ptr<StatsSampler> sampler_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<fleet::FleetSync> fleet_;  //!< with flags_store only
  struct Signals;
  std::unique_ptr<Signals> signals_;
  std::atomic<bool> draining_{false};
  // Reachability of each listener's primary target, refreshed by probe_loop
  // and read by /readyz: both on the control thread, so no lock.
  std::map<std::string, std::string> unreachable_;  //!< "listener/target" -> error
  bool probed_ = false;  //!< one round of probe_loop has finished
};

}  // namespace sy::proxy
