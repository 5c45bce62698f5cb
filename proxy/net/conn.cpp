#include "proxy/net/conn.h"

#include "proxy/net/exhaustible_recv.h"

#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace sy::proxy {

using asio::redirect_error;
using asio::use_awaitable;

namespace {

// The layer under TLS: record reads go through the same exhaustible recv as
// plain reads, so a TLS session is spared the EAGAIN recv() per wait too.
// Writes are asio's own. The socket must already be non-blocking.
struct TlsTransport {
  tcp::socket& sock;
  asio::detail::epoll_reactor& reactor;

  using executor_type = tcp::socket::executor_type;
  using lowest_layer_type = tcp::socket::lowest_layer_type;
  executor_type get_executor() { return sock.get_executor(); }
  lowest_layer_type& lowest_layer() { return sock.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return sock.lowest_layer(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& bufs, Token&& token) {
    // ssl::stream reads into its one input buffer.
    asio::mutable_buffer buf = *asio::buffer_sequence_begin(bufs);
    return async_recv_exhaustible(reactor, sock, buf, std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& bufs, Token&& token) {
    return sock.async_write_some(bufs, std::forward<Token>(token));
  }
};

}  // namespace

class Conn::TlsStream : public asio::ssl::stream<TlsTransport> {
 public:
  using asio::ssl::stream<TlsTransport>::stream;
};

Conn::Conn(tcp::socket sock)
    : sock_(std::move(sock)),
      reactor_(&asio::use_service<asio::detail::reactor>(asio::query(sock_.get_executor(), asio::execution::context))) {}

Conn::~Conn() = default;

// Reads let the reactor skip the doomed recv() and the EPOLL_CTL_MOD after a
// short read (see exhaustible_recv.h); under TLS, TlsTransport does the same.
asio::awaitable<size_t> Conn::read_some(asio::mutable_buffer buf, error_code& ec) {
  if (tls_) co_return co_await tls_->async_read_some(buf, redirect_error(use_awaitable, ec));
  if (!make_non_blocking(ec)) co_return 0;
  co_return co_await async_recv_exhaustible(*reactor_, sock_, buf, redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Conn::read_into(ByteBuffer& buf, error_code& ec) {
  size_t n = co_await read_some(asio::buffer(buf.write_ptr(), buf.writable()), ec);
  if (!ec) buf.commit(n);
}

// Plain sockets first try one non-blocking send: the kernel buffer almost always
// has room, and completing inline skips a trip through the scheduler (and the
// epoll_wait it costs) per relayed packet. Only the unsent tail goes async.
asio::awaitable<void> Conn::write(const std::vector<asio::const_buffer>& bufs, error_code& ec) {
  if (tls_) {
    co_await asio::async_write(*tls_, bufs, redirect_error(use_awaitable, ec));
    co_return;
  }
  size_t total = asio::buffer_size(bufs);
  if (!make_non_blocking(ec)) co_return;
  size_t sent = sock_.write_some(bufs, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec.clear();
    sent = 0;
  }
  if (ec || sent == total) co_return;
  std::vector<asio::const_buffer> rest;
  for (const auto& b : bufs) {
    if (sent >= b.size()) {
      sent -= b.size();
      continue;
    }
    rest.push_back(b + sent);
    sent = 0;
  }
  co_await asio::async_write(sock_, rest, redirect_error(use_awaitable, ec));
}

size_t Conn::try_send(const std::vector<asio::const_buffer>& bufs, error_code& ec) {
  if (tls_ || !make_non_blocking(ec)) return 0;
  size_t sent = sock_.write_some(bufs, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec.clear();
    return 0;
  }
  return ec ? 0 : sent;
}

asio::awaitable<void> Conn::write(asio::const_buffer buf, error_code& ec) {
  std::vector<asio::const_buffer> one;
  one.push_back(buf);
  co_await write(one, ec);
}

bool Conn::make_non_blocking(error_code& ec) {
  if (!sock_.non_blocking()) sock_.non_blocking(true, ec);
  return !ec;
}

bool Conn::start_tls(asio::ssl::context& ctx, error_code& ec) {
  if (!make_non_blocking(ec)) return false;
  tls_ = std::make_unique<TlsStream>(TlsTransport{sock_, *reactor_}, ctx);
  return true;
}

asio::awaitable<void> Conn::tls_accept(asio::ssl::context& ctx, error_code& ec, std::string_view already_read) {
  if (!start_tls(ctx, ec)) co_return;
  if (already_read.empty())
    co_await tls_->async_handshake(asio::ssl::stream_base::server, redirect_error(use_awaitable, ec));
  else
    co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::buffer(already_read),
                                   redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Conn::tls_connect(asio::ssl::context& ctx, const std::string& sni,
                                        const std::string& verify_name, error_code& ec) {
  if (!start_tls(ctx, ec)) co_return;
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
