#include "proxy/server/control_plane.h"

#include <boost/asio/post.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <malloc.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/loader.h"
#include "protocol/pg/messages.h"
#include "proxy/admin/admin_api.h"
#include "proxy/admin/admin_http.h"
#include "proxy/backends/target_probe.h"
#include "proxy/fleet/fleet_sync.h"
#include "proxy/net/task_group.h"
#include "proxy/shadow/shadow_service.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/server/server.h"
#include "proxy/session/session_set.h"
#include "proxy/telemetry/log.h"
#include "proxy/telemetry/stats_sampler.h"

namespace sy::proxy {

namespace {

// The heartbeat row's key: SWITCHYARD_SIDECAR_ID, else the host name (a
// pod's name in Kubernetes) and the admin port, which tell apart several
// sidecars on one host.
std::string sidecar_id(const config::Config& cfg) {
  if (const char* id = std::getenv("SWITCHYARD_SIDECAR_ID"); id && *id) return id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  if (cfg.admin.listen) return std::string(host) + ":" + std::to_string(cfg.admin.listen->port);
  return std::string(host) + ":pid" + std::to_string(::getpid());
}

}  // namespace

namespace asio = boost::asio;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;
using tcp = asio::ip::tcp;

struct ControlPlane::Signals {
  asio::signal_set hangup;
  asio::signal_set stop;
  explicit Signals(asio::io_context& io) : hangup(io, SIGHUP), stop(io, SIGTERM, SIGINT) {}
};

ControlPlane::ControlPlane(ControlPlaneDeps deps) : deps_(std::move(deps)) {}

ControlPlane::~ControlPlane() = default;

void ControlPlane::start() {
  const auto& cfg = *deps_.cfg;
  sampler_ = std::make_unique<StatsSampler>(*deps_.metrics);
  if (cfg.flags_store) {
    fleet_ = std::make_unique<fleet::FleetSync>(
        io_, fleet::FleetDeps{deps_.cfg, deps_.directory, deps_.metrics, deps_.shadow, sidecar_id(cfg)});
    log::Event(log::Level::info, "flags_store").str("target", cfg.flags_store->target)
        .str("table", cfg.flags_store->table).num("poll_ms", cfg.flags_store->poll_ms)
        .str("sidecar", fleet_->sidecar_id());
    // Trips run on this thread (the shadow service posts them here).
    if (deps_.shadow)
      deps_.shadow->set_trip_sink([this](const std::string& tenant, const FlagChange& change, const std::string& why) {
        fleet_->guard_tripped(tenant, change, "guard on " + fleet_->sidecar_id() + ": " + why);
      });
  }
  if (cfg.admin.listen) {
    AdminDeps deps;
    deps.metrics = deps_.metrics;
    deps.directory = deps_.directory;
    deps.stats = sampler_.get();
    deps.reload = [this](const std::string& who) { return reload(who); };
    deps.not_ready = [this] { return not_ready(); };
    deps.shadow = deps_.shadow;
    deps.fleet = fleet_.get();
    if (!cfg.admin.token_env.empty())
      if (const char* token = std::getenv(cfg.admin.token_env.c_str())) deps.token = token;
    if (deps.token.empty())
      log::Event(log::Level::warn, "admin_read_only").str("reason", "admin.token_env is unset or empty: changes through the API are refused");
    admin_ = std::make_unique<AdminServer>(io_, *cfg.admin.listen, std::make_shared<const AdminApi>(std::move(deps)));
    admin_->start();
  }
  spawn_logged(io_.get_executor(), "probe_loop", [this] { return probe_loop(); });
  spawn_logged(io_.get_executor(), "watch_config_file", [this] { return watch_config_file(); });
  spawn_logged(io_.get_executor(), "sample_stats", [this] { return sample_stats(); });
  spawn_logged(io_.get_executor(), "return_free_memory", [this] { return return_free_memory(); });
  if (fleet_) spawn_logged(io_.get_executor(), "flags_store", [this] { return fleet_->run(draining_); });
  signals_ = std::make_unique<Signals>(io_);
  wait_for_hangup();
  wait_for_stop();
}

void ControlPlane::run() { io_.run(); }

void ControlPlane::post(std::function<void()> f) { asio::post(io_, std::move(f)); }

void ControlPlane::wait_for_hangup() {
  signals_->hangup.async_wait([this](error_code ec, int) {
    if (ec) return;
    reload("sighup");
    wait_for_hangup();
  });
}

void ControlPlane::wait_for_stop() {
  signals_->stop.async_wait([this](error_code ec, int sig) {
    if (ec) return;
    if (draining_) {
      log::Event(log::Level::warn, "second_signal_exit").num("signal", sig);
      deps_.stop_workers();
      io_.stop();
      return;
    }
    log::Event(log::Level::info, "shutdown_requested").num("signal", sig);
    spawn_logged(io_.get_executor(), "drain",
                 [this] { return drain(std::chrono::milliseconds(deps_.cfg->runtime.drain_timeout_ms)); });
    wait_for_stop();
  });
}

// /readyz must answer without waiting on the network, so reachability is
// checked here in the background and only read by the handler.
asio::awaitable<void> ControlPlane::probe_loop() {
  asio::steady_timer tick(io_);
  while (!draining_) {
    for (const auto& l : deps_.cfg->listeners) {
      const auto& t = l.primary_target();
      std::string key = l.name + "/" + t.name;
      auto timeout = std::chrono::milliseconds(std::min<uint32_t>(l.connect_timeout_ms, 2000));
      auto why = co_await probe_target(io_.get_executor(), l.protocol, t, timeout);
      if (!why.empty())
        unreachable_[key] = "target \"" + t.name + "\" of listener \"" + l.name + "\" at " + t.address.str() +
                            " unreachable: " + why;
      else
        unreachable_.erase(key);
    }
    probed_ = true;
    tick.expires_after(std::chrono::seconds(2));
    error_code ec;
    co_await tick.async_wait(redirect_error(use_awaitable, ec));
  }
}

ChangeResult ControlPlane::reload_failed(const std::string& who, std::vector<std::string> errors) {
  ChangeResult r{422, "invalid config; the running config is unchanged", std::move(errors)};
  log::Event ev(log::Level::err, "config_reload_failed");
  ev.str("who", who).str("config", deps_.cfg->source).num("errors", int64_t(r.details.size()));
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

ChangeResult ControlPlane::reload(const std::string& who) {
  const auto& source = deps_.cfg->source;
  auto loaded = config::load_file(source);
  if (!loaded.ok()) {
    std::vector<std::string> errors;
    for (const auto& e : loaded.errors) errors.push_back(e.str());
    return reload_failed(who, std::move(errors));
  }
  // Certificates and keys are re-read at every reload, from the paths the
  // listeners run with (Kubernetes rotates a mounted Secret in place). All of
  // them are loaded before anything changes: one that cannot be used refuses
  // the reload, as a bad config does, and every session keeps being served
  // with the ones in force.
  std::vector<std::shared_ptr<const ListenerTls>> tls;
  std::vector<std::string> tls_errors;
  for (const auto& rt : deps_.listeners) {
    try {
      tls.push_back(make_listener_tls(rt->cfg));
    } catch (const std::exception& e) {
      tls_errors.push_back(e.what());
    }
  }
  if (!tls_errors.empty()) return reload_failed(who, std::move(tls_errors));
  auto r = deps_.directory->reload(loaded.config, who);
  if (r.status != 200) return r;
  for (size_t i = 0; i < tls.size(); ++i) {
    auto& rt = *deps_.listeners[i];
    auto old = rt.tls.exchange(tls[i]);
    // Logged when a certificate the proxy presents changed (to clients, or as
    // a target's client certificate), so a rotation shows in the log; CA
    // bundles and unchanged files are swapped quietly.
    auto presented = [](const std::shared_ptr<boost::asio::ssl::context>& ctx) {
      return ctx ? SSL_CTX_get0_certificate(ctx->native_handle()) : nullptr;
    };
    auto log_if_changed = [&](X509* before, X509* after, const std::string& target, const std::string& path) {
      if (!after || (before && X509_cmp(before, after) == 0)) return;
      log::Event e(log::Level::info, "tls_certificate_reloaded");
      e.str("who", who).str("listener", rt.cfg.name);
      if (!target.empty()) e.str("target", target);
      e.str("cert", path).num("serial", ASN1_INTEGER_get(X509_get0_serialNumber(after)));
    };
    log_if_changed(old ? presented(old->client) : nullptr, presented(tls[i]->client), "", rt.cfg.tls.cert);
    for (const auto& t : rt.cfg.targets) {
      if (t.tls.cert.empty()) continue;
      auto find = [&](const std::shared_ptr<const ListenerTls>& set) -> X509* {
        if (!set) return nullptr;
        auto it = set->targets.find(t.name);
        return it == set->targets.end() ? nullptr : presented(it->second);
      };
      log_if_changed(find(old), find(tls[i]), t.name, t.tls.cert);
    }
  }
  log_config_warnings(loaded.warnings, source);
  return r;
}

std::string ControlPlane::watched_files_stamp() const {
  auto stamp = [](const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return std::string("-;");
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  };
  std::string out = stamp(deps_.cfg->source);
  for (const auto& rt : deps_.listeners) {
    out += stamp(rt->cfg.tls.cert) + stamp(rt->cfg.tls.key);
    for (const auto& t : rt->cfg.targets) out += stamp(t.tls.ca) + stamp(t.tls.cert) + stamp(t.tls.key);
  }
  return out;
}

// Kubernetes updates a mounted ConfigMap or Secret by swapping a symlink, so
// watch what each path resolves to (inode, size, mtime), polled once a second.
asio::awaitable<void> ControlPlane::watch_config_file() {
  std::string last = watched_files_stamp();
  asio::steady_timer tick(io_);
  while (!draining_) {
    tick.expires_after(std::chrono::seconds(1));
    error_code ec;
    co_await tick.async_wait(redirect_error(use_awaitable, ec));
    struct stat st {};
    if (::stat(deps_.cfg->source.c_str(), &st) != 0) continue;  // mid-swap: wait until it is back
    auto now = watched_files_stamp();
    if (now == last) continue;
    last = now;
    reload("file_change");
  }
}

asio::awaitable<void> ControlPlane::sample_stats() {
  asio::steady_timer tick(io_);
  while (!draining_) {
    sampler_->sample();
    tick.expires_after(std::chrono::seconds(1));
    error_code ec;
    co_await tick.async_wait(redirect_error(use_awaitable, ec));
  }
}

// glibc keeps what a peak allocated (shadows queued under a load spike,
// buffers of a burst of sessions) in its per-thread arenas after it is freed:
// the soak saw RSS climb from 52 to 80 MiB while the bytes in use stayed at
// 19-21 MiB. malloc_trim returns the free pages inside every arena, taking
// each arena's own lock in turn; it runs here, on the control plane's
// thread, never on a session's path.
asio::awaitable<void> ControlPlane::return_free_memory() {
  asio::steady_timer tick(io_);
  while (!draining_) {
    tick.expires_after(kTrimEvery);
    error_code ec;
    co_await tick.async_wait(redirect_error(use_awaitable, ec));
    const auto started = std::chrono::steady_clock::now();
    const auto before = mallinfo2();
    malloc_trim(0);
    log::Event(log::Level::debug, "memory_trimmed")
        .num("in_use_bytes", int64_t(before.uordblks + before.hblkhd))
        .num("free_bytes", int64_t(before.fordblks))
        .num("micros", std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  }
}

std::vector<std::string> ControlPlane::not_ready() {
  std::vector<std::string> reasons;
  if (draining_) reasons.push_back("draining: shutting down");
  // Ready only once the targets are known to answer, not before anyone looked.
  if (!probed_) reasons.push_back("starting: targets not yet probed");
  for (const auto& [_, why] : unreachable_) reasons.push_back(why);
  return reasons;
}

asio::awaitable<void> ControlPlane::drain(std::chrono::milliseconds timeout) {
  draining_ = true;
  deps_.stop_accepting();
  auto& sessions = *deps_.sessions;
  log::Event(log::Level::info, "draining").num("sessions", int64_t(sessions.size())).num("timeout_ms", timeout.count());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer tick(io_);
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
  deps_.stop_workers();
  if (admin_) admin_->stop();
  io_.stop();
}

}  // namespace sy::proxy
