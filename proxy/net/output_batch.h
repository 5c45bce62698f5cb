#pragma once
// The bytes one relay step will write, as a gather list: runs of the read
// buffer that pass through untouched, interleaved with replacement messages
// the proxy produced. Adjacent pass-through runs are merged so an unmodified
// stream is written with a single buffer.
#include <boost/asio/buffer.hpp>
#include <deque>
#include <string>
#include <vector>

namespace sy::proxy {

class OutputBatch {
 public:
  void forward(const char* p, size_t n) {
    if (n == 0) return;
    if (!bufs_.empty() && last_is_forward_) {
      auto& last = bufs_.back();
      if (static_cast<const char*>(last.data()) + last.size() == p) {
        last = boost::asio::const_buffer(last.data(), last.size() + n);
        return;
      }
    }
    bufs_.emplace_back(p, n);
    last_is_forward_ = true;
  }

  void replace(std::string bytes) {
    owned_.push_back(std::move(bytes));  // deque: earlier strings never move
    bufs_.emplace_back(owned_.back().data(), owned_.back().size());
    last_is_forward_ = false;
  }

  bool empty() const { return bufs_.empty(); }
  const std::vector<boost::asio::const_buffer>& buffers() const { return bufs_; }
  void clear() {
    bufs_.clear();
    owned_.clear();
  }

 private:
  std::vector<boost::asio::const_buffer> bufs_;
  std::deque<std::string> owned_;
  bool last_is_forward_ = false;
};

}  // namespace sy::proxy
