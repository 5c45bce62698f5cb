#include "proxy/backends/backend_connect.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sy::proxy {

using asio::redirect_error;
using asio::use_awaitable;

asio::awaitable<std::string> connect_tcp(Conn& conn, const config::Endpoint& target, std::chrono::milliseconds timeout) {
  auto ex = conn.socket().get_executor();
  // The timer closes the socket, which fails whichever step is pending.
  asio::steady_timer deadline(ex, timeout);
  bool timed_out = false;
  deadline.async_wait([&conn, &timed_out](error_code e) {
    if (e) return;
    timed_out = true;
    conn.close();
  });
  error_code ec;
  auto addr = asio::ip::make_address(target.host, ec);
  if (!ec) {
    co_await conn.socket().async_connect(tcp::endpoint(addr, target.port), redirect_error(use_awaitable, ec));
  } else {
    tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(target.host, std::to_string(target.port), redirect_error(use_awaitable, ec));
    if (ec) co_return timed_out ? "connection timed out" : "cannot resolve host: " + ec.message();
    co_await asio::async_connect(conn.socket(), results, redirect_error(use_awaitable, ec));
  }
  deadline.cancel();
  if (ec) co_return timed_out ? std::string("connection timed out") : ec.message();
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
