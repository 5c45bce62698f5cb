#include "proxy/admin_http.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "proxy/log.h"
#include "proxy/metrics.h"

namespace sy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
//! Admin requests are small; anything bigger is refused before it is read.
constexpr size_t kMaxBody = 64 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(30);

http::response<http::string_body> reply(http::status status, std::string body,
                                        const char* type = "application/json") {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "switchyard");
  res.set(http::field::content_type, type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string json_error(const std::string& msg) {
  std::string out = "{\"error\":";
  log::append_json_string(out, msg);
  return out + "}";
}
}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  config::Endpoint listen;
  AdminDeps deps;
  tcp::acceptor acceptor;

  Impl(asio::io_context& io_, config::Endpoint l, AdminDeps d)
      : io(io_), listen(std::move(l)), deps(std::move(d)), acceptor(io_) {}

  http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    auto target = std::string(req.target());
    if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return reply(http::status::method_not_allowed, json_error("only GET is served on " + target));
    if (target == "/healthz") return reply(http::status::ok, "{\"status\":\"ok\"}");
    if (target == "/readyz") {
      auto reasons = deps.not_ready ? deps.not_ready() : std::vector<std::string>{};
      std::string body = reasons.empty() ? "{\"ready\":true}" : "{\"ready\":false,\"reasons\":[";
      for (size_t i = 0; i < reasons.size(); ++i) {
        if (i) body += ",";
        log::append_json_string(body, reasons[i]);
      }
      if (!reasons.empty()) body += "]}";
      return reply(reasons.empty() ? http::status::ok : http::status::service_unavailable, body);
    }
    if (target == "/metrics")
      return reply(http::status::ok, deps.metrics->render(), "text/plain; version=0.0.4; charset=utf-8");
    return reply(http::status::not_found, json_error("no such endpoint: " + target));
  }

  asio::awaitable<void> session(tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    for (;;) {
      stream.expires_after(kIdleTimeout);
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      beast::error_code ec;
      co_await http::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == http::error::body_limit) {
          auto res = reply(http::status::payload_too_large, json_error("request body over 64 KiB"));
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        }
        break;
      }
      auto req = parser.release();
      auto res = handle(req);
      res.keep_alive(req.keep_alive());
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      beast::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (!acceptor.is_open()) co_return;
      if (ec) continue;
      // The lambda keeps the server state alive for as long as the connection lives.
      asio::co_spawn(io, [self, s = std::move(sock)]() mutable { return self->session(std::move(s)); },
                     asio::detached);
    }
  }
};

AdminServer::AdminServer(asio::io_context& io, const config::Endpoint& listen, AdminDeps deps)
    : impl_(std::make_shared<Impl>(io, listen, std::move(deps))) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->listen.host, ec);
  if (ec) throw std::runtime_error("admin.listen must be an IP address, got " + impl_->listen.host);
  tcp::endpoint ep(addr, impl_->listen.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("admin listener " + impl_->listen.str() + ": " + ec.message());
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  log::Event(log::Level::info, "admin_listening").str("listen", impl_->listen.str());
}

void AdminServer::stop() {
  if (!impl_) return;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace sy::proxy
