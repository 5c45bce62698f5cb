#include "protocol/pg/frame_scanner.h"

#include <algorithm>

#include "protocol/common/bytes.h"

namespace sy::pg {

FrameScanner::Step FrameScanner::next(std::string_view in) {
  Step s;
  if (in.empty()) return s;
  if (streaming_left_ > 0) {
    s.kind = Kind::Forward;
    s.size = std::min(streaming_left_, in.size());
    streaming_left_ -= s.size;
    return s;
  }
  if (in.size() < 5) return s;
  s.type = in[0];
  uint32_t len = proto::load_be32(in.data() + 1);
  if (len < 4 || len > kMaxMessageLength) {
    s.kind = Kind::Error;
    s.error = "invalid message length " + std::to_string(len) + " for message type " +
              std::to_string(static_cast<unsigned char>(s.type));
    return s;
  }
  size_t total = size_t(len) + 1;
  last_type_ = s.type;
  const auto t = static_cast<unsigned char>(s.type);
  if (inspect_.test(t) || (inspect_small_.test(t) && len <= small_max_)) {
    if (len > max_inspected_) {
      s.kind = Kind::Error;
      s.error = "message of " + std::to_string(len) + " bytes exceeds the limit of " +
                std::to_string(max_inspected_) + " bytes";
      return s;
    }
    if (in.size() < total) return s;
    s.kind = Kind::Message;
    s.size = total;
    return s;
  }
  s.kind = Kind::Forward;
  s.size = std::min(total, in.size());
  streaming_left_ = total - s.size;
  return s;
}

}  // namespace sy::pg
