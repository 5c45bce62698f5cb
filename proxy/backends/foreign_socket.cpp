#include "proxy/backends/foreign_socket.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

namespace sy::proxy {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

bool ForeignSocket::watch(int fd) {
  forget();
  if (fd < 0) return false;
  error_code ec;
  desc_.assign(fd, ec);
  return !ec;
}

void ForeignSocket::forget() {
  if (desc_.is_open()) desc_.release();
}

namespace {

// Asio 1.74 has no awaitable operators, so "whichever comes first" of the
// read wait, the write wait and the deadline is built here: each completion
// settles the shared state once and cancels `wake`, the timer the coroutine
// sleeps on. The state is shared because the losers' handlers run later.
struct FirstOf {
  explicit FirstOf(asio::any_io_executor ex) : wake(ex, ForeignSocket::Clock::time_point::max()) {}
  void settle(ForeignSocket::Event e) {
    if (event) return;
    event = e;
    wake.cancel();
  }
  asio::steady_timer wake;
  std::optional<ForeignSocket::Event> event;
};

}  // namespace

asio::awaitable<ForeignSocket::Event> ForeignSocket::wait(bool read, bool write, Clock::time_point deadline) {
  if (Clock::now() >= deadline) co_return Event::Deadline;
  auto first = std::make_shared<FirstOf>(ex_);
  // Any completion other than our own cancel counts as ready: if the socket
  // is broken, the library's next read or write says how.
  if (read)
    desc_.async_wait(asio::posix::descriptor_base::wait_read, [first](error_code ec) {
      if (ec != asio::error::operation_aborted) first->settle(Event::Readable);
    });
  if (write)
    desc_.async_wait(asio::posix::descriptor_base::wait_write, [first](error_code ec) {
      if (ec != asio::error::operation_aborted) first->settle(Event::Writable);
    });
  asio::steady_timer timer(ex_, deadline);
  timer.async_wait([first](error_code ec) {
    if (!ec) first->settle(Event::Deadline);
  });
  error_code ec;
  co_await first->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (desc_.is_open()) desc_.cancel(ec);
  timer.cancel();
  co_return *first->event;
}

}  // namespace sy::proxy
