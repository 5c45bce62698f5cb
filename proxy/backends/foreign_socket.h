#pragma once
// Waiting, under a deadline, on a socket that a client library owns (libpq's
// PQsocket, Connector/C's mysql_get_socket): the library reads, writes and
// closes it; Asio only tells us when it is ready. The descriptor is always
// released, never closed, so the library's close is the only one.
//
// Use from one thread (the proxy's workers each run their own io_context).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>

namespace sy::proxy {

class ForeignSocket {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Event { Readable, Writable, Deadline };

  explicit ForeignSocket(boost::asio::any_io_executor ex) : ex_(ex), desc_(ex) {}
  ~ForeignSocket() { forget(); }
  ForeignSocket(const ForeignSocket&) = delete;
  ForeignSocket& operator=(const ForeignSocket&) = delete;

  //! Watches `fd` afresh, dropping the earlier registration even for the same
  //! number: while connecting, a library may close its socket and open the
  //! next one (another address, TLS fallback), which often gets the same
  //! number but is unknown to epoll. False if the reactor refuses it.
  bool watch(int fd);
  //! Stops watching without closing; call before the library closes the socket.
  void forget();

  //! Until the socket is readable (`read`) or writable (`write`), or
  //! `deadline` passes. Neither flag: just sleeps until the deadline.
  boost::asio::awaitable<Event> wait(bool read, bool write, Clock::time_point deadline);

 private:
  boost::asio::any_io_executor ex_;
  boost::asio::posix::stream_descriptor desc_;
};

}  // namespace sy::proxy
