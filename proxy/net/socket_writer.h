#pragma once
// The one writer of a socket. Every part of a session that has bytes for the
// client (replies relayed from a backend, refusals, the last error before a
// close) queues them here, and only run() writes to the socket, in queue
// order. Two loops writing to one socket would interleave half-written
// messages; a flag to take turns is the bug this replaces.
//
// The queue is bounded: send() waits while more than `limit` bytes are
// queued, so a client that reads slowly slows the backend loop that feeds it
// (as TCP would) instead of growing memory.
//
// Fast path: when nothing is queued or being written, send() itself makes
// the one non-blocking send the writer would make, and queues only what the
// kernel did not take. Order is kept (nothing is ahead of these bytes), and
// the common case costs no copy and no wake-up of run(): measured, the
// hop alone added about 5 µs of proxy CPU per pgbench transaction.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <string>
#include <vector>

#include "proxy/net/conn.h"
#include "proxy/net/wakeup.h"

namespace sy::proxy {

class SocketWriter {
 public:
  SocketWriter(Conn& conn, size_t limit);

  //! Queues a copy of `bufs`, then waits while the queue is over its limit.
  //! False once the socket failed or the writer stopped: nothing more goes out.
  asio::awaitable<bool> send(const std::vector<asio::const_buffer>& bufs);
  asio::awaitable<bool> send(std::string_view bytes);
  //! Queues without waiting, for a session's last small message (an error
  //! before it closes), where waiting could only delay the close.
  void push(std::string_view bytes);

  //! Writes what is queued, then run() returns.
  void finish();
  //! Drops what is queued; run() returns at once.
  void abort();

  //! Writes the queue until finish() or abort() or a write error.
  asio::awaitable<void> run();
  //! Returns once everything queued so far is written; false if it never will be.
  asio::awaitable<bool> flush();
  //! Returns once run() has ended.
  asio::awaitable<void> stopped_wait();

  bool stopped() const { return state_ == State::Stopped; }
  //! Nothing queued or being written.
  bool idle() const { return queued_.empty() && !writing_now_; }

 private:
  enum class State { Open, Finishing, Stopped };

  Conn& conn_;
  size_t limit_;
  State state_ = State::Open;
  std::string queued_;   //!< appended by producers
  std::string writing_;  //!< swapped with queued_ by run(): each keeps its capacity
  bool writing_now_ = false;
  Wakeup has_data_;
  Wakeup has_room_;
  Wakeup wrote_;  //!< after each write and when run() ends
};

}  // namespace sy::proxy
