#include "proxy/conn.h"

#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace sy::proxy {

using asio::redirect_error;
using asio::use_awaitable;

asio::awaitable<size_t> Conn::read_some(asio::mutable_buffer buf, error_code& ec) {
  if (tls_) co_return co_await tls_->async_read_some(buf, redirect_error(use_awaitable, ec));
  co_return co_await sock_.async_read_some(buf, redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Conn::write(const std::vector<asio::const_buffer>& bufs, error_code& ec) {
  if (tls_)
    co_await asio::async_write(*tls_, bufs, redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(sock_, bufs, redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Conn::write(asio::const_buffer buf, error_code& ec) {
  if (tls_)
    co_await asio::async_write(*tls_, buf, redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(sock_, buf, redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Conn::tls_accept(asio::ssl::context& ctx, error_code& ec) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, ctx);
  co_await tls_->async_handshake(asio::ssl::stream_base::server, redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Conn::tls_connect(asio::ssl::context& ctx, const std::string& sni,
                                        const std::string& verify_name, error_code& ec) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, ctx);
  if (!sni.empty()) SSL_set_tlsext_host_name(tls_->native_handle(), sni.c_str());
  if (!verify_name.empty()) tls_->set_verify_callback(asio::ssl::host_name_verification(verify_name));
  co_await tls_->async_handshake(asio::ssl::stream_base::client, redirect_error(use_awaitable, ec));
}

bool Conn::peer_certificate_is(X509* cert) const {
  if (!tls_ || !cert) return false;
  X509* peer = SSL_get1_peer_certificate(tls_->native_handle());
  bool same = peer && X509_cmp(peer, cert) == 0;
  X509_free(peer);
  return same;
}

void Conn::close() {
  error_code ignored;
  sock_.shutdown(tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
}

}  // namespace sy::proxy
