#include "proxy/session/pg/pg_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/pg/messages.h"
#include "proxy/backends/backend_connect.h"
#include "proxy/session/cancel_registry.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/telemetry/log.h"
#include "proxy/net/output_batch.h"
#include "proxy/session/session_set.h"
#include "proxy/flags/tenant_directory.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

using asio::redirect_error;
using asio::use_awaitable;
using config::BackendTlsMode;
using config::ClientTlsMode;

namespace {
constexpr size_t kRelayBuffer = 64 * 1024;
//! Auth and startup messages from the server are small; this bounds a hostile one.
constexpr uint32_t kMaxServerInspected = 1u << 20;

std::string_view slice(std::string_view s, size_t n) { return s.substr(0, n); }

}  // namespace

PgSession::PgSession(tcp::socket client, SessionDeps deps)
    : RelaySession(std::move(client), std::move(deps), kRelayBuffer), server_scan_(kMaxServerInspected) {}

PgSession::~PgSession() {
  if (cancel_key_) deps_.cancels->remove(*cancel_key_);
}

void PgSession::terminate(std::string sqlstate, std::string message) {
  auto self = this->self<PgSession>();
  asio::post(client_.socket().get_executor(), [self, sqlstate = std::move(sqlstate), message = std::move(message)] {
    if (!self->server_) {  // still logging in: nothing to preserve
      self->client_.close();
      return;
    }
    self->pending_client_error_ =
        pg::encode_error({.severity = "FATAL", .sqlstate = sqlstate, .message = message});
    self->server_->close();
  });
}

asio::awaitable<void> PgSession::refuse(std::string_view sqlstate, const std::string& message) {
  auto msg = pg::encode_error({.severity = "FATAL", .sqlstate = sqlstate, .message = message});
  error_code ec;
  co_await client_.write(asio::buffer(msg), ec);
  client_.close();
}

void PgSession::fail_session(std::string error_message) {
  pending_client_error_ = pg::encode_error(
      {.severity = "FATAL", .sqlstate = pg::sqlstate::kProtocolViolation, .message = error_message});
  if (server_) server_->close();
}

asio::awaitable<void> PgSession::run() {
  auto& listener = *deps_.listener;
  const auto& lcfg = listener.cfg;
  if (!admit()) {
    co_await refuse(pg::sqlstate::kTooManyConnections, "switchyard: sorry, too many clients already");
    co_return;
  }

  pg::StartupPacket startup;
  std::string raw_startup;
  if (!co_await read_startup(startup, raw_startup)) co_return;

  if (startup.kind == pg::StartupKind::CancelRequest) {
    co_await forward_cancel(startup.cancel);
    co_return;
  }
  if (lcfg.tls.mode == ClientTlsMode::Require && !client_.is_tls()) {
    log::Event(log::Level::warn, "client_refused").str("client", client_addr_).str("reason", "tls required");
    co_await refuse("28000", "switchyard: listener \"" + lcfg.name + "\" requires an encrypted connection (sslmode=require)");
    co_return;
  }

  // PostgreSQL's default database is the user name.
  auto database = startup.param("database").empty() ? startup.param("user") : startup.param("database");
  user_ = startup.param("user");
  application_name_ = startup.param("application_name");
  tenant_version_ = listener.directory->version();
  tenant_ = listener.directory->current()->bind(lcfg.name, database, user_, application_name_);
  if (tenant_) {
    tenant_name_ = tenant_->cfg.name;
    simple_statements_ = &listener.metrics->counter("statements_total", {{"tenant", tenant_name_}, {"kind", "simple"}});
    extended_statements_ = &listener.metrics->counter("statements_total", {{"tenant", tenant_name_}, {"kind", "extended"}});
  }

  const auto& target = lcfg.primary_target();
  target_ = &target;
  if (!co_await connect_backend(target)) co_return;

  error_code ec;
  co_await server_->write(asio::buffer(raw_startup), ec);
  if (ec) {
    co_await refuse(pg::sqlstate::kConnectionFailure,
                    "switchyard: lost connection to target \"" + target.name + "\" during startup: " + ec.message());
    co_return;
  }
  log::Event(log::Level::debug, "session_started").str("listener", lcfg.name).str("client", client_addr_)
      .str("user", startup.param("user")).str("database", startup.param("database"))
      .str("target", target.name).num("tls", client_.is_tls()).str("tenant", tenant_name_);

  auto self = this->self<PgSession>();
  asio::co_spawn(client_.socket().get_executor(), [self]() { return self->pump_backend(); }, asio::detached);
  co_await pump_frontend();
}

asio::awaitable<bool> PgSession::read_startup(pg::StartupPacket& out, std::string& raw) {
  const auto& lcfg = deps_.listener->cfg;
  for (;;) {
    auto decoded = pg::decode_startup(client_buf_.unread());
    if (decoded.status == pg::DecodeStatus::NeedMore) {
      error_code ec;
      if (!client_buf_.make_room(pg::kMaxStartupPacket)) co_return false;  // unreachable: length is capped
      co_await client_.read_into(client_buf_, ec);
      if (ec) co_return false;  // e.g. a port scanner or health check: nothing to say
      continue;
    }
    if (decoded.status == pg::DecodeStatus::Error) {
      log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("phase", "startup")
          .str("error", decoded.error);
      co_await refuse(pg::sqlstate::kProtocolViolation, "switchyard: " + decoded.error);
      co_return false;
    }
    raw.assign(slice(client_buf_.unread(), decoded.consumed));
    client_buf_.consume(decoded.consumed);
    error_code ec;
    switch (decoded.packet.kind) {
      case pg::StartupKind::GssEncRequest:
        co_await client_.write(asio::buffer("N", 1), ec);
        if (ec) co_return false;
        continue;
      case pg::StartupKind::SslRequest: {
        bool offer = deps_.listener->client_tls && !client_.is_tls() && lcfg.tls.mode != ClientTlsMode::Disable;
        if (offer && !client_buf_.unread().empty()) {
          // Bytes sent before the TLS handshake could have been injected by a
          // man in the middle; the server refuses them too (CVE-2021-23214).
          co_await refuse(pg::sqlstate::kProtocolViolation, "switchyard: received unencrypted data after SSL request");
          co_return false;
        }
        co_await client_.write(asio::buffer(offer ? "S" : "N", 1), ec);
        if (ec) co_return false;
        if (offer) {
          co_await client_.tls_accept(*deps_.listener->client_tls, ec);
          if (ec) {
            log::Event(log::Level::warn, "tls_handshake_failed").str("client", client_addr_).str("error", ec.message());
            client_.close();
            co_return false;
          }
        }
        continue;
      }
      case pg::StartupKind::CancelRequest:
      case pg::StartupKind::Startup:
        out = std::move(decoded.packet);
        co_return true;
    }
  }
}

asio::awaitable<bool> PgSession::connect_backend(const config::Target& target) {
  const auto& lcfg = deps_.listener->cfg;
  auto ex = client_.socket().get_executor();
  // `why` by value: the coroutine body runs after the caller's temporary is gone.
  auto cannot_connect = [&](std::string why) -> asio::awaitable<bool> {
    count_backend_error();
    log::Event(log::Level::err, "backend_connect_failed").str("target", target.name)
        .str("address", target.address.str()).str("client", client_addr_).str("error", why);
    co_await refuse(pg::sqlstate::kCannotConnect, "switchyard: cannot connect to target \"" + target.name + "\" at " +
                                                      target.address.str() + ": " + why);
    co_return false;
  };

  server_ = std::make_unique<Conn>(tcp::socket(ex));
  auto failed = co_await connect_tcp(*server_, target.address, std::chrono::milliseconds(lcfg.connect_timeout_ms));
  if (!failed.empty()) co_return co_await cannot_connect(std::move(failed));
  error_code ec;

  if (target.tls.mode != BackendTlsMode::Disable) {
    auto req = pg::encode_ssl_request();
    co_await server_->write(asio::buffer(req), ec);
    char answer = 0;
    if (!ec) co_await asio::async_read(server_->socket(), asio::buffer(&answer, 1), redirect_error(use_awaitable, ec));
    if (ec) co_return co_await cannot_connect(ec.message());
    if (answer == 'S') {
      auto tls_failed = co_await start_target_tls(*server_, *deps_.listener->target_tls.at(target.name), target);
      if (!tls_failed.empty()) co_return co_await cannot_connect(std::move(tls_failed));
      // tls-server-end-point binds to the server certificate only. When the
      // listener serves the very certificate the target presents, the client's
      // binding data is what the server expects, so SCRAM-SHA-256-PLUS can
      // pass through untouched.
      auto& client_tls = deps_.listener->client_tls;
      channel_binding_passthrough_ =
          client_tls && server_->peer_certificate_is(SSL_CTX_get0_certificate(client_tls->native_handle()));
    } else if (target.tls.mode != BackendTlsMode::Prefer) {
      co_return co_await cannot_connect("server does not support TLS, but tls.mode is " +
                              std::string(target.tls.mode == BackendTlsMode::Require ? "require" : "verify-full"));
    }
  }
  co_return true;
}

asio::awaitable<void> PgSession::forward_cancel(pg::CancelKey key) {
  // Like the server, never answer a CancelRequest: the client learns nothing
  // about which keys exist.
  auto backend = deps_.cancels->find(key);
  client_.close();
  if (!backend) {
    log::Event(log::Level::info, "cancel_unknown_key").str("client", client_addr_);
    co_return;
  }
  error_code ec;
  tcp::socket sock(client_.socket().get_executor());
  auto addr = asio::ip::make_address(backend->host, ec);
  if (ec) {
    tcp::resolver resolver(sock.get_executor());
    auto results = co_await resolver.async_resolve(backend->host, std::to_string(backend->port),
                                                   redirect_error(use_awaitable, ec));
    if (ec || results.empty()) co_return;
    co_await sock.async_connect(*results.begin(), redirect_error(use_awaitable, ec));
  } else {
    co_await sock.async_connect(tcp::endpoint(addr, backend->port), redirect_error(use_awaitable, ec));
  }
  if (!ec) {
    auto packet = pg::encode_cancel_request(key);
    co_await asio::async_write(sock, asio::buffer(packet), redirect_error(use_awaitable, ec));
  }
  log::Event(ec ? log::Level::warn : log::Level::info, "cancel_forwarded")
      .str("client", client_addr_).str("backend", backend->str()).str("error", ec ? ec.message() : "");
}

asio::awaitable<void> PgSession::pump_frontend() {
  const auto& lcfg = deps_.listener->cfg;
  pg::FrameScanner scan(lcfg.max_message_bytes);
  scan.inspect(pg::kQuery);
  scan.inspect(pg::kParse);
  scan.inspect(pg::kTerminate);
  if (tenant_) scan.inspect(pg::kExecute);  // counted for statements_total
  const size_t limit = size_t(lcfg.max_message_bytes) + 5;
  OutputBatch out;
  error_code ec;
  for (;;) {
    out.clear();
    bool terminated = false;
    for (;;) {
      auto view = client_buf_.unread();
      auto step = scan.next(view);
      if (step.kind == pg::FrameScanner::Kind::NeedMore) break;
      if (step.kind == pg::FrameScanner::Kind::Error) {
        log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("error", step.error);
        if (!out.empty()) co_await server_->write(out.buffers(), ec);
        frontend_done_ = true;
        fail_session("switchyard: " + step.error);
        co_return;
      }
      auto bytes = slice(view, step.size);
      client_buf_.consume(step.size);
      if (step.kind == pg::FrameScanner::Kind::Message) {
        terminated = terminated || step.type == pg::kTerminate;
        if (tenant_ && step.type == pg::kExecute) extended_statements_->fetch_add(1, std::memory_order_relaxed);
        if (tenant_ && (step.type == pg::kQuery || step.type == pg::kParse)) {
          rewrite_message(bytes, out);
          continue;
        }
      }
      out.forward(bytes.data(), bytes.size());
    }
    if (!out.empty()) {
      co_await server_->write(out.buffers(), ec);
      if (ec) break;
    }
    if (terminated) break;
    if (!client_buf_.make_room(limit)) break;  // unreachable: the scanner rejects longer messages first
    co_await client_.read_into(client_buf_, ec);
    if (ec) break;
  }
  end_after_client();
}

asio::awaitable<void> PgSession::pump_backend() {
  auto self = this->self<PgSession>();  // keeps the session alive while either loop runs
  server_scan_.inspect(pg::kAuthentication);
  server_scan_.inspect(pg::kBackendKeyData);
  server_scan_.inspect(pg::kReadyForQuery);
  bool login_done = false;
  OutputBatch out;
  error_code ec;
  for (;;) {
    co_await server_->read_into(server_buf_, ec);
    if (ec) break;
    out.clear();
    for (;;) {
      auto view = server_buf_.unread();
      auto step = server_scan_.next(view);
      if (step.kind == pg::FrameScanner::Kind::NeedMore) break;
      if (step.kind == pg::FrameScanner::Kind::Error) {
        log::Event(log::Level::err, "backend_protocol_error").str("target", target_->name).str("error", step.error);
        ec = asio::error::invalid_argument;
        break;
      }
      auto bytes = slice(view, step.size);
      server_buf_.consume(step.size);
      if (step.kind == pg::FrameScanner::Kind::Forward) {
        out.forward(bytes.data(), bytes.size());
        continue;
      }
      switch (step.type) {
        case pg::kAuthentication:
          if (channel_binding_passthrough_ && client_.is_tls()) break;
          if (auto stripped = pg::strip_channel_binding(bytes)) {
            out.replace(std::move(*stripped));
            continue;
          }
          break;
        case pg::kBackendKeyData:
          cancel_key_ = pg::decode_backend_key(bytes);
          if (cancel_key_) deps_.cancels->add(*cancel_key_, target_->address);
          break;
        case pg::kReadyForQuery:
          if (!login_done) {
            // After login the stream is only relayed; a tenant's session still
            // reads ReadyForQuery, whose status says whether a transaction is open.
            login_done = true;
            server_scan_.inspect_none();
            if (tenant_) server_scan_.inspect(pg::kReadyForQuery);
            logged_in();
          }
          if (bytes.size() == 6) in_transaction_ = bytes[5] != 'I';
          break;
      }
      out.forward(bytes.data(), bytes.size());
    }
    if (!out.empty()) {
      error_code wec;
      co_await client_.write(out.buffers(), wec);
      if (wec) break;
    }
    if (ec) break;
    if (!server_buf_.make_room(kMaxServerInspected + 5)) break;
  }
  if (!pending_client_error_.empty() && server_scan_.at_boundary()) {
    error_code wec;
    co_await client_.write(asio::buffer(pending_client_error_), wec);
  } else if (!frontend_done_ && pending_client_error_.empty()) {
    if (server_scan_.at_boundary() && server_scan_.last_type() == pg::kErrorResponse) {
      // The server ended the session itself and said why (bad password,
      // pg_terminate_backend ...): that message stands on its own.
      log::Event(log::Level::debug, "backend_closed_after_error").str("target", target_->name).str("client", client_addr_);
    } else {
      count_backend_error();
      log::Event(log::Level::err, "backend_lost").str("target", target_->name).str("address", target_->address.str())
          .str("client", client_addr_).str("error", ec.message());
      if (server_scan_.at_boundary()) {
        auto msg = pg::encode_error({.severity = "FATAL",
                                     .sqlstate = pg::sqlstate::kConnectionFailure,
                                     .message = "switchyard: lost connection to target \"" + target_->name + "\" at " +
                                                target_->address.str() + ": " + ec.message()});
        error_code wec;
        co_await client_.write(asio::buffer(msg), wec);
      }
    }
  }
  end_after_server();
}

}  // namespace sy::proxy

namespace sy::proxy {


std::string PgSession::session_key() const {
  // A session is its client endpoint plus the server process serving it.
  return client_addr_ + "/" + std::to_string(cancel_key_ ? cancel_key_->pid : 0);
}

void PgSession::rewrite_message(std::string_view message, OutputBatch& out) {
  const bool extended = message[0] == pg::kParse;
  if (!extended) simple_statements_->fetch_add(1, std::memory_order_relaxed);
  auto started = std::chrono::steady_clock::now();
  auto phase = statement_phase(in_transaction_);
  auto text = pg::statement_text(message);
  if (phase == config::Phase::Off || !text) {
    out.forward(message.data(), message.size());  // a malformed body is the server's to reject
    return;
  }
  auto decision = tenant_->rewriter->decide(text->sql, phase, extended);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  deps_.listener->metrics->statement_overhead().observe(elapsed);
  if (!decision) {
    out.forward(message.data(), message.size());
    return;
  }
  deps_.listener->metrics->rewrite_duration().observe(elapsed);
  record_decision(*deps_.listener->metrics, *decision, tenant_name_, phase, client_addr_);
  if (decision->action == rewrite::Decision::Action::Rewrite)
    out.replace(pg::with_statement_text(message[0], *text, decision->sql));
  else
    out.forward(message.data(), message.size());
}

}  // namespace sy::proxy
