#include "proxy/session/relay_session.h"

#include <stdexcept>

#include "proxy/flags/canary.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/telemetry/log.h"
#include "proxy/session/fault_plan.h"
#include "proxy/session/session_set.h"
#include "proxy/flags/tenant_directory.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

namespace {
constexpr size_t kInitialBuffer = 16 * 1024;
//! Bytes queued for the client before the backend loop waits for it to read.
constexpr size_t kClientQueueLimit = 256 * 1024;

std::string endpoint_string(const tcp::socket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

RelaySession::RelaySession(tcp::socket client, SessionDeps deps)
    : deps_(std::move(deps)),
      tls_(deps_.listener->tls.load()),
      client_addr_(endpoint_string(client)),
      client_(std::move(client)),
      client_buf_(kInitialBuffer),
      to_client_(client_, kClientQueueLimit),
      tasks_(client_.socket().get_executor(), client_addr_, [this] { close_both(); }) {}

RelaySession::~RelaySession() {
  if (counted_) {
    deps_.listener->clients.fetch_sub(1, std::memory_order_relaxed);
    if (deps_.listener->process_clients) deps_.listener->process_clients->fetch_sub(1, std::memory_order_relaxed);
  }
  if (connections_gauge_) connections_gauge_->fetch_sub(1, std::memory_order_relaxed);
  deps_.sessions->remove(this);
}

void RelaySession::start() {
  deps_.sessions->add(shared_from_this());
  auto self = shared_from_this();
  tasks_.spawn("client_writer", self, [self] { return self->to_client_.run(); });
  tasks_.spawn("session", self, [self]() -> asio::awaitable<void> {
    co_await self->run();
    // Whatever way the session ended, the writer has nothing more to take.
    self->to_client_.finish();
  });
}

asio::awaitable<void> RelaySession::relay() {
  stage_ = Stage::Relay;
  auto self = shared_from_this();
  // Either loop ending ends the other: the client's EOF closes the server
  // (end_after_client), the server's closes the client (end_after_server).
  TaskGroup pumps(client_.socket().get_executor(), client_addr_, [this] { close_both(); });
  pumps.spawn("from_server", self, [self] { return self->pump_backend(); });
  pumps.spawn("from_client", self, [self] { return self->pump_frontend(); });
  watch_idle();
  co_await pumps.join();
  if (idle_timer_) idle_timer_->cancel();
}

bool RelaySession::idle_timeouts_on() const {
  const auto& cfg = deps_.listener->cfg;
  return cfg.idle_in_transaction_session_timeout_ms > 0 || cfg.idle_session_timeout_ms > 0;
}

void RelaySession::watch_idle() {
  if (!idle_timeouts_on()) return;
  idle_timer_ = std::make_unique<asio::steady_timer>(client_.socket().get_executor());
  last_activity_ = std::chrono::steady_clock::now();
  check_idle();
}

void RelaySession::check_idle() {
  const auto& cfg = deps_.listener->cfg;
  using ms = std::chrono::milliseconds;
  uint32_t shortest = 0;
  for (uint32_t t : {cfg.idle_in_transaction_session_timeout_ms, cfg.idle_session_timeout_ms})
    if (t > 0 && (shortest == 0 || t < shortest)) shortest = t;
  auto now = std::chrono::steady_clock::now();
  // A busy session is looked at again after a quarter of the shortest
  // timeout: one that turns idle just after a look is closed at most that
  // much late, and a session costs four timer waits per timeout, not one per
  // statement.
  auto wait = std::chrono::steady_clock::duration(ms(std::max(1u, shortest / 4)));
  if (stage_ == Stage::Relay && idle_between_requests()) {
    const bool in_transaction = idle_in_transaction();
    const uint32_t limit = in_transaction ? cfg.idle_in_transaction_session_timeout_ms : cfg.idle_session_timeout_ms;
    if (limit > 0) {
      auto deadline = last_activity_ + ms(limit);
      if (now >= deadline) {
        log::Event(log::Level::info, "idle_timeout").str("client", client_addr_).str("tenant", tenant_name_)
            .str("kind", in_transaction ? "idle_in_transaction" : "idle_session").num("timeout_ms", limit);
        end_idle(in_transaction);
        return;
      }
      wait = deadline - now;
    }
  }
  if (stage_ == Stage::Closing) return;
  // Whatever happened meanwhile moved last_activity_ on: the next check
  // measures from there.
  idle_timer_->expires_after(wait);
  idle_timer_->async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->check_idle();
  });
}

void RelaySession::maybe_fault(const char* where) {
  if (deps_.faults && deps_.faults->throw_in == where && deps_.faults->application_name == application_name_)
    throw std::runtime_error(std::string("injected fault in ") + where);
}

bool RelaySession::admit() {
  auto& listener = *deps_.listener;
  // The deadline holds for a client that will be refused too: it may still
  // negotiate TLS and send its startup packet first (pg_session.cpp).
  arm_login_deadline();
  // Counted first, checked after: two workers admitting at once can each see
  // room, and an increment that overshoots is undone, so the limit holds
  // without a lock.
  const char* over = nullptr;
  if (listener.clients.fetch_add(1, std::memory_order_relaxed) >= listener.cfg.max_client_connections)
    over = "max_client_connections";
  if (listener.process_clients &&
      listener.process_clients->fetch_add(1, std::memory_order_relaxed) >= listener.process_limit && !over)
    over = "runtime.max_client_connections";
  if (over) {
    listener.clients.fetch_sub(1, std::memory_order_relaxed);
    if (listener.process_clients) listener.process_clients->fetch_sub(1, std::memory_order_relaxed);
    log::Event(log::Level::warn, "client_refused").str("listener", listener.cfg.name).str("client", client_addr_)
        .str("reason", over);
    return false;
  }
  counted_ = true;
  connections_gauge_ = &listener.stats->client_connections();
  connections_gauge_->fetch_add(1, std::memory_order_relaxed);
  error_code ignored;
  client_.socket().set_option(tcp::no_delay(true), ignored);
  return true;
}

void RelaySession::arm_login_deadline() {
  auto& listener = *deps_.listener;
  login_timer_ = std::make_unique<asio::steady_timer>(client_.socket().get_executor(),
                                                      std::chrono::milliseconds(listener.cfg.login_timeout_ms));
  login_timer_->async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self) return;
    if (self->stage_ == Stage::Login && self->awaiting_target_ && self->primary_) {
      // The login loop sees the server side close and sends this.
      const auto& t = self->primary_->target;
      log::Event(log::Level::warn, "login_timeout").str("client", self->client_addr_).str("waiting_for", "target")
          .str("target", t.name).str("address", t.address.str());
      self->count_backend_error();
      self->pending_client_error_ = self->target_login_timeout_error(
          "switchyard: target \"" + t.name + "\" at " + t.address.str() +
          " did not complete the login within login_timeout_ms (" +
          std::to_string(self->deps_.listener->cfg.login_timeout_ms) + " ms)");
      self->primary_->conn.close();
      return;
    }
    log::Event(log::Level::warn, "login_timeout").str("client", self->client_addr_).str("waiting_for", "client");
    self->close_both();
  });
}

void RelaySession::logged_in() {
  if (login_timer_) login_timer_->cancel();
}

void RelaySession::close_both() {
  stage_ = Stage::Closing;
  to_client_.abort();
  client_.close();
  if (primary_) primary_->conn.close();
}

asio::awaitable<void> RelaySession::send_and_close(std::string bytes) {
  stage_ = Stage::Closing;
  to_client_.push(bytes);
  to_client_.finish();
  co_await to_client_.stopped_wait();
  close_both();
}

asio::awaitable<void> RelaySession::end_after_server() {
  stage_ = Stage::Closing;
  if (primary_) primary_->conn.close();
  // What is queued (replies, the last error) still goes out, but a client
  // that does not read gets no more than the linger time to take it.
  to_client_.finish();
  linger_timer_ = std::make_unique<asio::steady_timer>(client_.socket().get_executor(), std::chrono::seconds(2));
  linger_timer_->async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->close_both();
  });
  co_await to_client_.stopped_wait();
  if (frontend_done_) {  // the client already hung up: nothing left to wait for
    close_both();
    co_return;
  }
  // FIN, then the frontend loop sees the client's EOF and ends; the linger
  // timer bounds that wait too.
  error_code ignored;
  client_.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void RelaySession::end_after_client() {
  frontend_done_ = true;
  // The linger timer also bounds the writer's last flush (end_after_server):
  // only once that is over is there nothing left for it to cut short.
  if (linger_timer_ && to_client_.stopped()) linger_timer_->cancel();
  // Closing the server side wakes the backend loop, which finishes the client.
  if (primary_) primary_->conn.close();
}

std::shared_ptr<const rewrite::Decision> RelaySession::decide_timed(std::chrono::steady_clock::time_point started,
                                                                    std::string_view sql, config::Phase phase,
                                                                    bool extended, rewrite::Dialect dialect) {
  auto decision = tenant_->rewriter->decide(*deps_.decisions, sql, phase, extended, dialect);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  deps_.listener->metrics->statement_overhead().observe(elapsed);
  if (decision) deps_.listener->metrics->rewrite_duration().observe(elapsed);
  return decision;
}

void RelaySession::bind_tenant(std::string_view database) {
  auto& listener = *deps_.listener;
  database_ = std::string(database);
  tenant_version_ = listener.directory->version();
  tenant_ = listener.directory->current()->bind(listener.cfg.name, database, user_, application_name_);
  if (!tenant_) return;
  tenant_name_ = tenant_->cfg.name;
  tenant_stats_ = listener.metrics->tenant_stats(tenant_name_, tenant_->cfg.migrations);
}

config::Phase RelaySession::statement_phase(bool in_transaction) {
  auto now = tenant_phase();
  // A promotion waits for the open transaction to end; a rollback to an
  // earlier phase does not, so no session left idle in a transaction can
  // hold an operator's rollback back.
  if (in_transaction && now > latched_phase_) return latched_phase_;
  return latched_phase_ = now;
}

config::Phase RelaySession::tenant_phase() {
  auto* directory = deps_.listener->directory;
  if (auto v = directory->version(); v != tenant_version_) {
    tenant_version_ = v;
    tenant_ = directory->current()->find(tenant_name_);  // null if a reload removed it
    // A reload may have changed the tenant's migrations.
    if (tenant_) tenant_stats_ = deps_.listener->metrics->tenant_stats(tenant_name_, tenant_->cfg.migrations);
  }
  if (!tenant_) return config::Phase::Off;
  const auto& cfg = tenant_->cfg;
  if (!cfg.canary.phase || cfg.canary.percent <= 0) return cfg.phase;
  // The key is fixed for the session, so the bucket is hashed once (again only
  // if a flag change picks another sticky_by).
  if (!bucket_ || bucket_sticky_by_ != cfg.canary.sticky_by) {
    std::string key;
    switch (cfg.canary.sticky_by) {
      case config::StickyBy::User: key = user_; break;
      case config::StickyBy::ApplicationName: key = application_name_; break;
      case config::StickyBy::ClientAddress: key = client_addr_.substr(0, client_addr_.rfind(':')); break;
      case config::StickyBy::Session: key = session_key(); break;
    }
    bucket_ = canary_bucket(cfg.name, key);
    bucket_sticky_by_ = cfg.canary.sticky_by;
    log::Event(log::Level::debug, "canary_bucket").str("tenant", cfg.name).str("key", key)
        .str("sticky_by", config::to_string(cfg.canary.sticky_by)).num("bucket", *bucket_).str("client", client_addr_);
  }
  return in_canary(*bucket_, cfg.canary.percent) ? *cfg.canary.phase : cfg.phase;
}

void RelaySession::count_backend_error() {
  deps_.listener->stats->backend_errors(primary_ ? primary_->target.name : "unknown")
      .fetch_add(1, std::memory_order_relaxed);
}

}  // namespace sy::proxy
