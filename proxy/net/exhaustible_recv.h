#pragma once
// A socket read that tells asio's epoll reactor when it emptied the socket.
//
// Why: Boost 1.74's reactor only skips the speculative recv() of the next read
// when the previous one reported "done_and_exhausted". This op reports end of
// stream that way, as asio's own recv op does.
//
// A short read is NOT reported as exhausted, although that would spare the
// EAGAIN recv() of the next read: the peer's last bytes and its FIN often
// arrive in one edge (a client that writes and closes at once, mid-COPY; a
// server's last FATAL before it exits). The short read takes the bytes, the
// FIN stays behind them, and no further edge ever comes: a read queued
// without the speculative recv() would wait forever, and the session would
// keep both sockets and the server's backend (stuck in COPY, holding its
// locks) for good. tests/unit/proxy/net/conn_test.cpp,
// EndOfStreamRightBehindTheDataIsSeen, and test_faults_pg.py's vanishing
// clients show it.
//
// Uses asio's detail layer (reactor, reactor_op, handler_work), the same
// building blocks as asio's own reactive_socket_recv_op. Included by conn.cpp
// (plain and TLS reads) and its tests, so asio's detail headers stay out of
// every other file.
#include <sys/socket.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <type_traits>

namespace sy::proxy {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

template <typename Handler, typename IoExecutor>
class ExhaustibleRecvOp : public asio::detail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ExhaustibleRecvOp);

  ExhaustibleRecvOp(int fd, asio::mutable_buffer buf, Handler& handler, const IoExecutor& io_ex)
      : reactor_op(error_code(), &ExhaustibleRecvOp::do_perform, &ExhaustibleRecvOp::do_complete),
        fd_(fd),
        buf_(buf),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<ExhaustibleRecvOp*>(base);
    for (;;) {
      ssize_t n = ::recv(o->fd_, o->buf_.data(), o->buf_.size(), 0);
      if (n > 0) {
        o->bytes_transferred_ = static_cast<size_t>(n);
        return done;  // even when short: a FIN may be right behind (see top)
      }
      if (n == 0) {
        o->ec_ = asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = error_code(errno, asio::error::get_system_category());
      return done;
    }
  }

  static void do_complete(void* owner, asio::detail::operation* base, const error_code&, size_t) {
    auto* o = static_cast<ExhaustibleRecvOp*>(base);
    ptr p = {asio::detail::addressof(o->handler_), o, o};
    asio::detail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    // The handler is copied out before the op's memory is released, because
    // the handler may own that memory (asio's recycling allocator).
    asio::detail::binder2<Handler, error_code, size_t> handler(o->handler_, o->ec_, o->bytes_transferred_);
    p.h = asio::detail::addressof(handler.handler_);
    p.reset();
    if (owner) {
      asio::detail::fenced_block b(asio::detail::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  int fd_;
  asio::mutable_buffer buf_;
  Handler handler_;
  asio::detail::handler_work<Handler, IoExecutor> work_;
};

//! Reaches the reactor bookkeeping of a socket. Naming a protected member
//! through a derived class is the standard-conforming way to read it.
struct SocketInternals : asio::ip::tcp::socket {
  static auto& implementation(asio::ip::tcp::socket& s) {
    return (s.*(&SocketInternals::impl_)).get_implementation();
  }
};

//! Like socket.async_read_some for a non-blocking TCP socket; `reactor` must be
//! the socket's own (cache it per socket).
template <typename Token>
auto async_recv_exhaustible(asio::detail::reactor& reactor, asio::ip::tcp::socket& sock, asio::mutable_buffer buf,
                            Token&& token) {
  return asio::async_initiate<Token, void(error_code, size_t)>(
      [&reactor, &sock, buf](auto handler) {
        using Handler = std::decay_t<decltype(handler)>;
        using Op = ExhaustibleRecvOp<Handler, asio::ip::tcp::socket::executor_type>;
        auto& impl = SocketInternals::implementation(sock);
        bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        typename Op::ptr p = {asio::detail::addressof(handler), Op::ptr::allocate(handler), nullptr};
        p.p = new (p.v) Op(impl.socket_, buf, handler, sock.get_executor());
        if (buf.size() == 0) {
          // Completes with 0 bytes and no error, like asio's own stream reads:
          // recv() would report 0 as end of stream, and a queued op would wait
          // for an edge that may never come. asio's ssl::stream relies on this,
          // issuing an empty read as a post when it finishes from buffered input.
          reactor.post_immediate_completion(p.p, is_continuation);
          p.v = p.p = nullptr;
          return;
        }
        reactor.start_op(asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_, p.p, is_continuation,
                         /*allow_speculative=*/true);
        p.v = p.p = nullptr;
      },
      token);
}

}  // namespace sy::proxy
