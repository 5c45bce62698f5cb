#pragma once
// One end of a proxied connection: a TCP socket that may be upgraded to TLS
// mid-stream (PostgreSQL negotiates TLS after a plaintext SSLRequest).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "proxy/net/byte_buffer.h"

namespace boost::asio::detail {
class epoll_reactor;
}

namespace sy::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class Conn {
 public:
  explicit Conn(tcp::socket sock);
  ~Conn();
  Conn(Conn&&) = delete;

  //! Reads what is available (at least one byte); ec set on EOF or error.
  asio::awaitable<size_t> read_some(asio::mutable_buffer buf, error_code& ec);
  //! read_some into the free space at the end of `buf`, committing what arrived.
  asio::awaitable<void> read_into(ByteBuffer& buf, error_code& ec);
  //! Writes every byte of every buffer; ec set on error.
  asio::awaitable<void> write(const std::vector<asio::const_buffer>& bufs, error_code& ec);
  asio::awaitable<void> write(asio::const_buffer buf, error_code& ec);
  //! One non-blocking send of what the kernel takes now, without suspending:
  //! the bytes sent (0 when it would block, and always 0 over TLS, whose
  //! records only the async path writes); ec set on error.
  size_t try_send(const std::vector<asio::const_buffer>& bufs, error_code& ec);

  //! `already_read`: TLS bytes the caller read before deciding to start TLS
  //! (a MySQL client sends its ClientHello right behind the SSLRequest).
  asio::awaitable<void> tls_accept(asio::ssl::context& ctx, error_code& ec, std::string_view already_read = {});
  //! `verify_name` empty = no hostname check (prefer/require).
  asio::awaitable<void> tls_connect(asio::ssl::context& ctx, const std::string& sni, const std::string& verify_name,
                                    error_code& ec);

  bool is_tls() const { return tls_ != nullptr; }
  //! True if the TLS peer presented exactly `cert` (DER comparison).
  bool peer_certificate_is(X509* cert) const;
  tcp::socket& socket() { return sock_; }
  //! Idempotent; wakes any pending read or write with an error.
  void close();

 private:
  //! Our reads and first writes call recv()/send() directly, and asio makes a
  //! socket non-blocking only inside its own operations. False (ec set) on error.
  bool make_non_blocking(error_code& ec);
  //! Wraps the socket in TLS, reading through TlsTransport.
  bool start_tls(asio::ssl::context& ctx, error_code& ec);

  tcp::socket sock_;
  asio::detail::epoll_reactor* reactor_;
  class TlsStream;  // an ssl::stream over the socket, reading like read_some does
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace sy::proxy
