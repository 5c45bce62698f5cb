#include "proxy/backends/backend_connect.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "proxy/backends/resolve_host.h"

namespace sy::proxy {

using asio::redirect_error;
using asio::use_awaitable;

ConnectDeadline::ConnectDeadline(Conn& conn, std::chrono::milliseconds timeout)
    : state_(std::make_shared<State>()),
      timeout_(timeout),
      at_(std::chrono::steady_clock::now() + timeout),
      timer_(conn.socket().get_executor(), at_) {
  // Everything runs on the session's one thread: the handler either sees
  // `cancelled` or runs while the connection still exists.
  timer_.async_wait([state = state_, c = &conn](error_code e) {
    if (e || state->cancelled) return;
    state->expired = true;
    c->close();
  });
}

ConnectDeadline::~ConnectDeadline() { cancel(); }

void ConnectDeadline::cancel() {
  state_->cancelled = true;
  timer_.cancel();
}

std::string ConnectDeadline::message() const {
  return "timed out after " + std::to_string(timeout_.count()) + " ms (connect_timeout_ms)";
}

asio::awaitable<std::string> connect_tcp(Conn& conn, const config::Endpoint& target, const ConnectDeadline& deadline) {
  auto resolved = co_await resolve_host(conn.socket().get_executor(), target.host, deadline.at());
  if (resolved.all.empty()) co_return deadline.explain(resolved.error);
  std::vector<tcp::endpoint> endpoints;
  for (const auto& a : resolved.all) endpoints.emplace_back(a, target.port);
  error_code ec;
  co_await asio::async_connect(conn.socket(), endpoints, redirect_error(use_awaitable, ec));
  if (ec) co_return deadline.explain(ec.message());
  conn.socket().set_option(tcp::no_delay(true), ec);
  co_return std::string();
}

asio::awaitable<std::string> start_target_tls(Conn& conn, asio::ssl::context& ctx, const config::Target& target) {
  const auto& host = target.tls.server_name.empty() ? target.address.host : target.tls.server_name;
  error_code not_ip;
  asio::ip::make_address(host, not_ip);
  std::string sni = not_ip ? host : std::string();  // SNI carries names only
  std::string verify = target.tls.mode == config::BackendTlsMode::VerifyFull ? host : std::string();
  error_code ec;
  co_await conn.tls_connect(ctx, sni, verify, ec);
  co_return ec ? "TLS handshake failed: " + ec.message() : std::string();
}

}  // namespace sy::proxy
