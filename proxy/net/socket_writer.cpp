#include "proxy/net/socket_writer.h"

namespace sy::proxy {

namespace {
//! Queue capacity kept between writes; more is given back once written.
constexpr size_t kKeptCapacity = 64 * 1024;
}  // namespace

SocketWriter::SocketWriter(Conn& conn, size_t limit)
    : conn_(conn), limit_(limit), has_data_(conn.socket().get_executor()), has_room_(conn.socket().get_executor()),
      wrote_(conn.socket().get_executor()) {}

void SocketWriter::push(std::string_view bytes) {
  if (state_ != State::Open) return;
  queued_.append(bytes);
  has_data_.notify();
}

asio::awaitable<bool> SocketWriter::send(std::string_view bytes) {
  // A named vector: GCC 12 cannot keep a braced temporary across co_await.
  std::vector<asio::const_buffer> one;
  one.push_back(asio::buffer(bytes));
  co_return co_await send(one);
}

asio::awaitable<bool> SocketWriter::send(const std::vector<asio::const_buffer>& bufs) {
  if (state_ != State::Open) co_return false;
  size_t sent = 0;
  if (idle()) {
    error_code ec;
    sent = conn_.try_send(bufs, ec);
    if (ec) {
      abort();  // as a failed write in run() would: nothing more goes out
      co_return false;
    }
  }
  for (const auto& b : bufs) {
    if (sent >= b.size()) {
      sent -= b.size();
      continue;
    }
    queued_.append(static_cast<const char*>(b.data()) + sent, b.size() - sent);
    sent = 0;
  }
  if (queued_.empty()) co_return true;
  has_data_.notify();
  while (state_ != State::Stopped && queued_.size() > limit_) co_await has_room_.wait();
  co_return state_ != State::Stopped;
}

void SocketWriter::finish() {
  if (state_ == State::Open) state_ = State::Finishing;
  has_data_.notify();
}

void SocketWriter::abort() {
  state_ = State::Stopped;
  queued_.clear();
  has_data_.notify();
  has_room_.notify();
}

asio::awaitable<void> SocketWriter::run() {
  error_code ec;
  while (state_ != State::Stopped) {
    if (queued_.empty()) {
      if (state_ == State::Finishing) break;
      co_await has_data_.wait();
      continue;
    }
    // Everything queued goes out in one write: replies that piled up while
    // the last write was in flight cost one syscall, not one each.
    std::swap(queued_, writing_);
    has_room_.notify();
    writing_now_ = true;
    co_await conn_.write(asio::buffer(writing_), ec);
    writing_now_ = false;
    writing_.clear();
    // A large result that once went through the queue must not stay
    // reserved for the rest of an idle session's life.
    if (writing_.capacity() > kKeptCapacity) std::string().swap(writing_);
    wrote_.notify();
    if (ec) break;
  }
  state_ = State::Stopped;
  queued_.clear();
  has_room_.notify();
  wrote_.notify();
}

asio::awaitable<bool> SocketWriter::flush() {
  while (state_ != State::Stopped && !idle()) co_await wrote_.wait();
  co_return state_ != State::Stopped;
}

asio::awaitable<void> SocketWriter::stopped_wait() {
  while (state_ != State::Stopped) co_await wrote_.wait();
}

}  // namespace sy::proxy
