#pragma once
// A growable read buffer: bytes are appended at the end by socket reads and
// consumed from the front by the frame scanner. Consumed bytes stay valid until
// the next compact(), so a gather-write may point into them.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace sy::proxy {

class ByteBuffer {
 public:
  explicit ByteBuffer(size_t capacity) : data_(new char[capacity]), cap_(capacity) {}

  std::string_view unread() const { return {data_.get() + begin_, end_ - begin_}; }
  char* write_ptr() { return data_.get() + end_; }
  size_t writable() const { return cap_ - end_; }
  size_t capacity() const { return cap_; }
  void commit(size_t n) { end_ += n; }
  void consume(size_t n) { begin_ += n; }

  //! Moves unread bytes to the front; invalidates pointers into consumed bytes.
  void compact() {
    if (begin_ == 0) return;
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }

  //! Compacts, then grows (up to `limit`) if there is still no room to read into.
  //! Returns false when the buffer is full at `limit`.
  bool make_room(size_t limit) {
    compact();
    if (writable() > 0) return true;
    if (cap_ >= limit) return false;
    size_t cap = cap_ * 2 < limit ? cap_ * 2 : limit;
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    cap_ = cap;
    return true;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace sy::proxy
