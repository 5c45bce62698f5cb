#include "proxy/server/server.h"

#include "proxy/net/task_group.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <thread>
#include <vector>

#include "proxy/session/cancel_registry.h"
#include "proxy/server/listener_runtime.h"
#include "config/loader.h"
#include "proxy/server/control_plane.h"
#include "proxy/server/worker.h"
#include "proxy/telemetry/log.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/session/mysql/mysql_session.h"
#include "proxy/session/pg/pg_session.h"
#include "proxy/session/session_set.h"
#include "proxy/net/tls.h"

namespace sy::proxy {

void log_config_warnings(const std::vector<config::ConfigError>& warnings, const std::string& source) {
  for (const auto& w : warnings)
    log::Event(log::Level::warn, "config_warning").str("config", source).num("line", w.line).str("path", w.path)
        .str("warning", w.message);
}


using asio::redirect_error;
using asio::use_awaitable;
using work_guard = asio::executor_work_guard<asio::io_context::executor_type>;

struct Server::Impl {
  std::shared_ptr<const config::Config> cfg;
  const FaultPlan* faults = nullptr;
  // Declared before the workers: sessions still parked in an io_context are
  // destroyed with it and unregister themselves from these on the way out.
  CancelRegistry cancels;
  SessionSet sessions;
  std::atomic<uint32_t> all_clients{0};  //!< across listeners, for runtime.max_client_connections
  Metrics metrics;
  // Before the workers too: their shadow runners report to it until they are gone.
  std::unique_ptr<ShadowService> shadow;
  // Worker 0 also runs the acceptors (accepting is data path, and cheap).
  // Each worker owns its sessions outright (both sockets live on its
  // io_context), so a session's two relay loops never need a lock between
  // them. Everything else runs on the control plane's thread.
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<work_guard> guards;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  //!< touched only on worker 0
  std::unique_ptr<TenantDirectory> directory;
  std::unique_ptr<ControlPlane> control;
  size_t next_worker = 0;  //!< accept loops all run on worker 0

  asio::io_context& main() { return workers.front()->io; }

  Worker& pick_worker() {
    auto& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    return w;
  }

  // Called by the control plane: the acceptors belong to worker 0's thread.
  void stop_accepting() {
    asio::post(main(), [this] {
      for (auto& a : acceptors) {
        error_code ignored;
        a->close(ignored);
      }
    });
  }

  void stop_workers() {
    guards.clear();
    for (auto& w : workers) w->io.stop();
  }

  std::shared_ptr<ListenerRuntime> build_runtime(const config::Listener& l) {
    auto rt = std::make_shared<ListenerRuntime>();
    rt->cfg = l;
    rt->tls = make_listener_tls(l);
    bool tls_target = false;
    for (const auto& t : l.targets) tls_target = tls_target || t.tls.mode != config::BackendTlsMode::Disable;
    if (l.protocol == config::Protocol::Mysql && tls_target && l.tls.mode != config::ClientTlsMode::Require)
      rt->sha2_key = Sha2RsaKey::generate();
    if (cfg->runtime.max_client_connections > 0) {
      rt->process_clients = &all_clients;
      rt->process_limit = cfg->runtime.max_client_connections;
    }
    rt->directory = directory.get();
    rt->metrics = &metrics;
    rt->stats = std::make_unique<const ListenerStats>(metrics, l);
    return rt;
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<ListenerRuntime> rt) {
    for (;;) {
      error_code ec;
      auto& worker = pick_worker();
      tcp::socket sock = co_await acceptor.async_accept(worker.io, redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning on a failing accept.
        log::Event(log::Level::err, "accept_failed").str("listener", rt->cfg.name).str("error", ec.message());
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(redirect_error(use_awaitable, ec));
        continue;
      }
      SessionDeps deps{rt, &cancels, &sessions, &worker.decisions, faults, worker.shadow.get()};
      if (rt->cfg.protocol == config::Protocol::Mysql)
        std::make_shared<MySqlSession>(std::move(sock), std::move(deps))->start();
      else
        std::make_shared<PgSession>(std::move(sock), std::move(deps))->start();
    }
  }
};

Server::Server(std::shared_ptr<const config::Config> cfg, const FaultPlan* faults) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->faults = faults;
}

Server::~Server() = default;

int Server::run() {
  auto& d = *impl_;
  const auto& cfg = *d.cfg;
  unsigned n = cfg.runtime.workers ? cfg.runtime.workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    d.workers.push_back(std::make_unique<Worker>());
    d.guards.emplace_back(d.workers.back()->io.get_executor());
  }

  d.directory = std::make_unique<TenantDirectory>(d.cfg, &d.metrics);
  d.shadow = std::make_unique<ShadowService>(d.metrics, *d.directory);
  for (auto& w : d.workers) w->shadow = std::make_unique<ShadowRunner>(w->io, *d.shadow);
  std::vector<std::shared_ptr<ListenerRuntime>> runtimes;
  for (const auto& l : cfg.listeners) {
    std::shared_ptr<ListenerRuntime> rt;
    try {
      rt = d.build_runtime(l);
    } catch (const std::exception& e) {
      log::Event(log::Level::critical, "listener_failed").str("listener", l.name).str("error", e.what());
      return 1;
    }
    error_code ec;
    auto addr = asio::ip::make_address(l.listen.host, ec);
    if (ec) {
      log::Event(log::Level::critical, "listener_failed").str("listener", l.name)
          .str("error", "listen must be an IP address, got " + l.listen.host);
      return 1;
    }
    tcp::endpoint ep(addr, l.listen.port);
    auto acceptor = std::make_unique<tcp::acceptor>(d.main());
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      log::Event(log::Level::critical, "listener_failed").str("listener", l.name).str("listen", l.listen.str())
          .str("error", ec.message());
      return 1;
    }
    log::Event(log::Level::info, "listening").str("listener", l.name).str("listen", l.listen.str())
        .str("primary", l.primary);
    spawn_logged(d.main().get_executor(), "accept_loop", [&d, a = acceptor.get(), rt] { return d.accept_loop(*a, rt); });
    runtimes.push_back(rt);
    d.acceptors.push_back(std::move(acceptor));
  }

  ControlPlaneDeps control;
  control.cfg = d.cfg;
  control.directory = d.directory.get();
  control.metrics = &d.metrics;
  control.sessions = &d.sessions;
  control.shadow = d.shadow.get();
  control.listeners = std::move(runtimes);
  control.stop_accepting = [&d] { d.stop_accepting(); };
  control.stop_workers = [&d] { d.stop_workers(); };
  d.control = std::make_unique<ControlPlane>(std::move(control));
  // A guard trip writes state_file: on the control plane's thread, not a worker's.
  d.shadow->set_off_path([&d](std::function<void()> f) { d.control->post(std::move(f)); });
  try {
    d.control->start();
  } catch (const std::exception& e) {
    log::Event(log::Level::critical, "admin_failed").str("error", e.what());
    return 1;
  }
  log::Event(log::Level::info, "started").num("workers", n).str("config", cfg.source);

  // Every worker on a thread of its own; this thread serves the control plane.
  std::vector<std::thread> threads;
  for (auto& w : d.workers) threads.emplace_back([&w] { w->io.run(); });
  d.control->run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace sy::proxy
