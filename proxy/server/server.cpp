#include "proxy/server/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/connect.hpp>
#include <map>
#include <mutex>
#include <sys/stat.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "protocol/pg/messages.h"
#include "proxy/session/cancel_registry.h"
#include "proxy/server/listener_runtime.h"
#include "config/loader.h"
#include "proxy/admin/admin_api.h"
#include "proxy/admin/admin_http.h"
#include "proxy/telemetry/stats_sampler.h"
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
  Metrics metrics;
  // Worker 0 also runs the acceptors and signal handling. Each worker owns its
  // sessions outright (both sockets live on its io_context), so a session's
  // two relay loops never need a lock between them.
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<work_guard> guards;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::unique_ptr<TenantDirectory> directory;
  std::unique_ptr<StatsSampler> sampler;
  std::unique_ptr<AdminServer> admin;
  // Reachability of each listener's primary target, refreshed by probe_loop.
  std::mutex probe_mu;
  std::map<std::string, std::string> unreachable;  //!< "listener/target" -> error
  bool probed = false;  //!< one round of probe_loop has finished
  size_t next_worker = 0;
  bool draining = false;

  asio::io_context& main() { return *workers.front(); }

  asio::io_context& pick_worker() {
    auto& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    return w;
  }

  std::shared_ptr<ListenerRuntime> build_runtime(const config::Listener& l) {
    auto rt = std::make_shared<ListenerRuntime>();
    rt->cfg = l;
    if (l.tls.mode != config::ClientTlsMode::Disable) rt->client_tls = make_server_tls(l.tls);
    bool tls_target = false;
    for (const auto& t : l.targets) {
      rt->target_tls[t.name] = t.tls.mode == config::BackendTlsMode::Disable ? nullptr : make_client_tls(t.tls);
      tls_target = tls_target || t.tls.mode != config::BackendTlsMode::Disable;
    }
    if (l.protocol == config::Protocol::Mysql && tls_target && l.tls.mode != config::ClientTlsMode::Require)
      rt->sha2_key = Sha2RsaKey::generate();
    rt->directory = directory.get();
    rt->metrics = &metrics;
    return rt;
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<ListenerRuntime> rt) {
    for (;;) {
      error_code ec;
      auto& worker = pick_worker();
      tcp::socket sock = co_await acceptor.async_accept(worker, redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning on a failing accept.
        log::Event(log::Level::err, "accept_failed").str("listener", rt->cfg.name).str("error", ec.message());
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(redirect_error(use_awaitable, ec));
        continue;
      }
      SessionDeps deps{rt, &cancels, &sessions, faults};
      if (rt->cfg.protocol == config::Protocol::Mysql)
        std::make_shared<MySqlSession>(std::move(sock), std::move(deps))->start();
      else
        std::make_shared<PgSession>(std::move(sock), std::move(deps))->start();
    }
  }

  // /readyz must answer without waiting on the network, so reachability is
  // checked here in the background and only read by the handler.
  asio::awaitable<void> probe_loop() {
    asio::steady_timer tick(main());
    while (!draining) {
      for (const auto& l : cfg->listeners) {
        const auto& t = l.primary_target();
        std::string key = l.name + "/" + t.name;
        error_code ec;
        tcp::socket sock(main());
        asio::steady_timer deadline(main(), std::chrono::milliseconds(std::min<uint32_t>(l.connect_timeout_ms, 2000)));
        deadline.async_wait([&sock](error_code e) {
          if (!e) sock.close();
        });
        tcp::resolver resolver(main());
        auto results = co_await resolver.async_resolve(t.address.host, std::to_string(t.address.port),
                                                       redirect_error(use_awaitable, ec));
        if (!ec) co_await asio::async_connect(sock, results, redirect_error(use_awaitable, ec));
        deadline.cancel();
        std::lock_guard lock(probe_mu);
        if (ec)
          unreachable[key] = "target \"" + t.name + "\" of listener \"" + l.name + "\" at " + t.address.str() +
                             " unreachable: " + ec.message();
        else
          unreachable.erase(key);
      }
      {
        std::lock_guard lock(probe_mu);
        probed = true;
      }
      tick.expires_after(std::chrono::seconds(2));
      error_code ec;
      co_await tick.async_wait(redirect_error(use_awaitable, ec));
    }
  }

  // Reloads the config file named at start-up. An invalid file changes
  // nothing: the running config stays and the errors are logged and returned.
  ChangeResult reload(const std::string& who) {
    auto loaded = config::load_file(cfg->source);
    if (!loaded.ok()) {
      ChangeResult r{422, "invalid config; the running config is unchanged", {}};
      for (const auto& e : loaded.errors) r.details.push_back(e.str());
      log::Event ev(log::Level::err, "config_reload_failed");
      ev.str("who", who).str("config", cfg->source).num("errors", int64_t(r.details.size()));
      ev.str("first_error", r.details.empty() ? "" : r.details.front());
      // Every error with its line, as check-config prints them: a file fixed
      // one error per reload attempt is a slow way to recover.
      std::string all = "[";
      for (const auto& d : r.details) {
        if (all.size() > 1) all += ",";
        log::append_json_string(all, d);
      }
      ev.raw("all_errors", all + "]");
      return r;
    }
    auto r = directory->reload(loaded.config, who);
    if (r.status == 200) log_config_warnings(loaded.warnings, cfg->source);
    return r;
  }

  // Kubernetes updates a mounted ConfigMap by swapping a symlink, so watch
  // what the path resolves to (inode, size, mtime), polled once a second.
  asio::awaitable<void> watch_config_file() {
    auto stamp = [this] {
      struct stat st {};
      if (::stat(cfg->source.c_str(), &st) != 0) return std::string();
      return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
             "." + std::to_string(st.st_mtim.tv_nsec);
    };
    std::string last = stamp();
    asio::steady_timer tick(main());
    while (!draining) {
      tick.expires_after(std::chrono::seconds(1));
      error_code ec;
      co_await tick.async_wait(redirect_error(use_awaitable, ec));
      auto now = stamp();
      if (now.empty() || now == last) continue;
      last = now;
      reload("file_change");
    }
  }

  asio::awaitable<void> sample_stats() {
    asio::steady_timer tick(main());
    while (!draining) {
      sampler->sample();
      tick.expires_after(std::chrono::seconds(1));
      error_code ec;
      co_await tick.async_wait(redirect_error(use_awaitable, ec));
    }
  }

  std::vector<std::string> not_ready() {
    std::vector<std::string> reasons;
    if (draining) reasons.push_back("draining: shutting down");
    std::lock_guard lock(probe_mu);
    // Ready only once the targets are known to answer, not before anyone looked.
    if (!probed) reasons.push_back("starting: targets not yet probed");
    for (const auto& [_, why] : unreachable) reasons.push_back(why);
    return reasons;
  }

  asio::awaitable<void> drain(std::chrono::milliseconds timeout) {
    draining = true;
    for (auto& a : acceptors) {
      error_code ignored;
      a->close(ignored);
    }
    log::Event(log::Level::info, "draining").num("sessions", int64_t(sessions.size())).num("timeout_ms", timeout.count());
    auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer tick(main());
    error_code ec;
    while (sessions.size() > 0 && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(50));
      co_await tick.async_wait(redirect_error(use_awaitable, ec));
    }
    if (size_t left = sessions.size()) {
      log::Event(log::Level::warn, "drain_timeout").num("sessions_terminated", int64_t(left));
      for (auto& s : sessions.snapshot())
        s->terminate(std::string(pg::sqlstate::kAdminShutdown),  // MySQL sessions use their own code
                     "switchyard: terminating connection because the proxy is shutting down");
      auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (sessions.size() > 0 && std::chrono::steady_clock::now() < hard) {
        tick.expires_after(std::chrono::milliseconds(20));
        co_await tick.async_wait(redirect_error(use_awaitable, ec));
      }
    }
    log::Event(log::Level::info, "stopped").num("sessions_left", int64_t(sessions.size()));
    guards.clear();
    for (auto& w : workers) w->stop();
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
    d.workers.push_back(std::make_unique<asio::io_context>(1));
    d.guards.emplace_back(d.workers.back()->get_executor());
  }

  d.directory = std::make_unique<TenantDirectory>(d.cfg, &d.metrics);
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
    asio::co_spawn(d.main(), d.accept_loop(*acceptor, rt), asio::detached);
    d.acceptors.push_back(std::move(acceptor));
  }

  d.sampler = std::make_unique<StatsSampler>(d.metrics);
  if (cfg.admin.listen) {
    AdminDeps deps;
    deps.metrics = &d.metrics;
    deps.directory = d.directory.get();
    deps.stats = d.sampler.get();
    deps.reload = [&d](const std::string& who) { return d.reload(who); };
    deps.not_ready = [&d] { return d.not_ready(); };
    if (!cfg.admin.token_env.empty())
      if (const char* token = std::getenv(cfg.admin.token_env.c_str())) deps.token = token;
    if (deps.token.empty())
      log::Event(log::Level::warn, "admin_read_only").str("reason", "admin.token_env is unset or empty: changes through the API are refused");
    d.admin = std::make_unique<AdminServer>(d.main(), *cfg.admin.listen, std::make_shared<const AdminApi>(std::move(deps)));
    try {
      d.admin->start();
    } catch (const std::exception& e) {
      log::Event(log::Level::critical, "admin_failed").str("error", e.what());
      return 1;
    }
  }
  asio::co_spawn(d.main(), d.probe_loop(), asio::detached);
  asio::co_spawn(d.main(), d.watch_config_file(), asio::detached);
  asio::co_spawn(d.main(), d.sample_stats(), asio::detached);
  asio::signal_set hangups(d.main(), SIGHUP);
  std::function<void(error_code, int)> on_hangup = [&](error_code ec, int) {
    if (ec) return;
    d.reload("sighup");
    hangups.async_wait(on_hangup);
  };
  hangups.async_wait(on_hangup);

  asio::signal_set signals(d.main(), SIGTERM, SIGINT);
  std::function<void(error_code, int)> on_signal = [&](error_code ec, int sig) {
    if (ec) return;
    if (d.draining) {
      log::Event(log::Level::warn, "second_signal_exit").num("signal", sig);
      for (auto& w : d.workers) w->stop();
      return;
    }
    log::Event(log::Level::info, "shutdown_requested").num("signal", sig);
    asio::co_spawn(d.main(), d.drain(std::chrono::milliseconds(cfg.runtime.drain_timeout_ms)), asio::detached);
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  log::Event(log::Level::info, "started").num("workers", n).str("config", cfg.source);

  std::vector<std::thread> threads;
  for (size_t i = 1; i < d.workers.size(); ++i) threads.emplace_back([&, i] { d.workers[i]->run(); });
  d.workers.front()->run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace sy::proxy
