#include "proxy/session/pg/pg_session.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/pg/messages.h"
#include "proxy/backends/backend_connect.h"
#include "proxy/session/cancel_registry.h"
#include "proxy/session/pg/kept_answer.h"
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
std::string_view slice(std::string_view s, size_t n) { return s.substr(0, n); }
}  // namespace

PgSession::PgSession(tcp::socket client, SessionDeps deps) : RelaySession(std::move(client), std::move(deps)) {}

PgSession::~PgSession() {
  if (primary_ && server().cancel_key) deps_.cancels->remove(*server().cancel_key);
}

void PgSession::terminate(std::string sqlstate, std::string message) {
  auto self = this->self<PgSession>();
  asio::post(client_.socket().get_executor(), [self, sqlstate = std::move(sqlstate), message = std::move(message)] {
    if (self->stage_ == Stage::Startup) {  // not even logging in: nothing to preserve
      self->close_both();
      return;
    }
    // The loop reading the server sends it at the next message boundary.
    self->pending_client_error_ =
        pg::encode_error({.severity = "FATAL", .sqlstate = sqlstate, .message = message});
    self->primary_->conn.close();
  });
}

asio::awaitable<void> PgSession::refuse(std::string_view sqlstate, const std::string& message) {
  co_await send_and_close(pg::encode_error({.severity = "FATAL", .sqlstate = sqlstate, .message = message}));
}

asio::awaitable<void> PgSession::run() {
  auto& listener = *deps_.listener;
  const auto& lcfg = listener.cfg;
  // As the server does, a client over the limit still gets its SSLRequest
  // answered and is refused after its startup packet: refused during the
  // TLS exchange, libpq would show "server sent an error response during
  // SSL exchange" instead of 53300 and its message.
  const bool admitted = admit();

  pg::StartupPacket startup;
  std::string raw_startup;
  if (!co_await read_startup(startup, raw_startup)) co_return;

  if (startup.kind == pg::StartupKind::CancelRequest) {  // never counted against the limit
    co_await forward_cancel(startup.cancel);
    co_return;
  }
  if (!admitted) {
    co_await refuse(pg::sqlstate::kTooManyConnections, "switchyard: sorry, too many clients already");
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
  bind_tenant(database);

  const auto& target = lcfg.primary_target();
  if (!co_await connect_backend(target)) co_return;

  error_code ec;
  co_await server().conn.write(asio::buffer(raw_startup), ec);
  if (ec) {
    co_await refuse(pg::sqlstate::kConnectionFailure,
                    "switchyard: lost connection to target \"" + target.name + "\" during startup: " + ec.message());
    co_return;
  }
  log::Event(log::Level::debug, "session_started").str("listener", lcfg.name).str("client", client_addr_)
      .str("user", startup.param("user")).str("database", startup.param("database"))
      .str("target", target.name).num("tls", client_.is_tls()).str("tenant", tenant_name_);

  stage_ = Stage::Login;
  if (!co_await login()) co_return;
  logged_in();
  // The request tracker is what tells an idle session from a busy one.
  if (tenant_ || idle_timeouts_on()) server().requests.emplace();
  co_await relay();
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
        to_client_.push("N");
        continue;
      case pg::StartupKind::SslRequest: {
        bool offer = tls_->client && !client_.is_tls() && lcfg.tls.mode != ClientTlsMode::Disable;
        if (offer && !client_buf_.unread().empty()) {
          // Bytes sent before the TLS handshake could have been injected by a
          // man in the middle; the server refuses them too (CVE-2021-23214).
          co_await refuse(pg::sqlstate::kProtocolViolation, "switchyard: received unencrypted data after SSL request");
          co_return false;
        }
        to_client_.push(offer ? "S" : "N");
        if (offer) {
          // The handshake writes to the socket itself: the writer must be done first.
          if (!co_await to_client_.flush()) co_return false;
          co_await client_.tls_accept(*tls_->client, ec);
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

  primary_ = std::make_unique<PgBackend>(target, ex);
  auto& conn = server().conn;
  // One deadline for the connect and the TLS negotiation: a server that
  // accepts and then says nothing fails here, not at the login timeout.
  ConnectDeadline deadline(conn, std::chrono::milliseconds(lcfg.connect_timeout_ms));
  auto failed = co_await connect_tcp(conn, target.address, deadline);
  if (!failed.empty()) co_return co_await cannot_connect(std::move(failed));
  error_code ec;

  if (target.tls.mode != BackendTlsMode::Disable) {
    auto req = pg::encode_ssl_request();
    co_await conn.write(asio::buffer(req), ec);
    char answer = 0;
    if (!ec) co_await asio::async_read(conn.socket(), asio::buffer(&answer, 1), redirect_error(use_awaitable, ec));
    if (ec) co_return co_await cannot_connect(deadline.explain(ec.message()));
    if (answer == 'S') {
      auto tls_failed = co_await start_target_tls(conn, *tls_->targets.at(target.name), target);
      if (!tls_failed.empty()) co_return co_await cannot_connect(deadline.explain(std::move(tls_failed)));
      // tls-server-end-point binds to the server certificate only. When the
      // listener serves the very certificate the target presents, the client's
      // binding data is what the server expects, so SCRAM-SHA-256-PLUS can
      // pass through untouched.
      const auto& client_tls = tls_->client;
      server().channel_binding_passthrough =
          client_tls && conn.peer_certificate_is(SSL_CTX_get0_certificate(client_tls->native_handle()));
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

}  // namespace sy::proxy
