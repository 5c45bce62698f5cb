#pragma once
// A coroutine waits on it until another coroutine of the same session says
// something changed. Sessions run on one io_context thread each, so a waiter
// checks its condition, then waits, with no lost wake-up in between: notify()
// only ever runs while the waiter is suspended or between its checks.
// (Boost 1.74 has no channels; a timer that never expires, cancelled to wake,
// is asio's idiom for a condition.)
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sy::proxy {

class Wakeup {
 public:
  explicit Wakeup(const boost::asio::any_io_executor& ex)
      : timer_(ex, boost::asio::steady_timer::time_point::max()) {}

  //! Suspends until the next notify() (or spuriously: re-check the condition).
  //! Several coroutines may wait at once: the expiry is never reset, since
  //! resetting it would cancel the other waiters.
  boost::asio::awaitable<void> wait() {
    boost::system::error_code ignored;
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  }

  //! Wakes the waiter, if any.
  void notify() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace sy::proxy
