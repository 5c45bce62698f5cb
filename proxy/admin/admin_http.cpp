#include "proxy/admin/admin_http.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "proxy/admin/admin_api.h"
#include "proxy/telemetry/log.h"

namespace sy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
//! Admin requests are small; anything bigger is refused before it is read.
constexpr size_t kMaxBody = 64 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(30);
}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  config::Endpoint listen;
  std::shared_ptr<const AdminApi> api;
  tcp::acceptor acceptor;

  Impl(asio::io_context& io_, config::Endpoint l, std::shared_ptr<const AdminApi> a)
      : io(io_), listen(std::move(l)), api(std::move(a)), acceptor(io_) {}

  asio::awaitable<http::response<http::string_body>> handle(const http::request<http::string_body>& req,
                                                           const std::string& remote) {
    AdminRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.authorization = std::string(req[http::field::authorization]);
    in.if_match = std::string(req[http::field::if_match]);
    in.body = req.body();
    in.remote = remote;
    auto out = co_await api->handle_async(std::move(in));
    http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
    res.set(http::field::server, "switchyard");
    res.set(http::field::content_type, out.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.body() = req.method() == http::verb::head ? std::string() : std::move(out.body);
    res.prepare_payload();
    co_return res;
  }

  asio::awaitable<void> session(tcp::socket sock) {
    beast::error_code ec;
    auto peer = sock.remote_endpoint(ec);
    std::string remote = ec ? "unknown" : peer.address().to_string() + ":" + std::to_string(peer.port());
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    for (;;) {
      stream.expires_after(kIdleTimeout);
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      co_await http::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == http::error::body_limit) {
          http::response<http::string_body> res{http::status::payload_too_large, 11};
          res.set(http::field::content_type, "application/json");
          res.body() = json_error("request body over 64 KiB");
          res.prepare_payload();
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        }
        break;
      }
      auto req = parser.release();
      auto res = co_await handle(req, remote);
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

AdminServer::AdminServer(asio::io_context& io, const config::Endpoint& listen, std::shared_ptr<const AdminApi> api)
    : impl_(std::make_shared<Impl>(io, listen, std::move(api))) {}

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
