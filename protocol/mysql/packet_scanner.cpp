#include "protocol/mysql/packet_scanner.h"

#include <algorithm>

#include "protocol/mysql/packet.h"

namespace sy::mysql {

PacketScanner::Step PacketScanner::next(std::string_view in) {
  Step s;
  if (in.empty()) return s;
  if (left_ > 0) {
    s.kind = Kind::Forward;
    s.size = std::min(left_, in.size());
    left_ -= s.size;
    return s;
  }
  if (in.size() < kHeaderSize) return s;
  uint32_t len = payload_length(in.data());
  uint8_t seq = sequence_id(in.data());
  size_t total = kHeaderSize + len;
  bool inspect = all_ || (small_ > 0 && len <= small_);
  if (!inspect && small_ > 0 && in.size() < kHeaderSize + 1) return s;  // the first payload byte too
  if (!inspect && statements_ && seq == 0 && len > 0) {
    if (in.size() < kHeaderSize + 1) return s;  // need the command byte to decide
    auto cmd = static_cast<uint8_t>(in[kHeaderSize]);
    // A 16 MiB statement continues in further packets; it is relayed as is,
    // its first bytes (verb, table, columns) buffered first so the caller
    // can judge it from them, not from however much one read brought.
    const bool statement = cmd == kComQuery || cmd == kComStmtPrepare;
    inspect = statement && len < kMaxPacketPayload;
    if (statement && !inspect && in.size() < kHeaderSize + std::min<size_t>(kStatementPeek, max_inspected_)) return s;
  }
  last_seq_ = seq;
  last_first_ = len > 0 && in.size() > kHeaderSize ? static_cast<uint8_t>(in[kHeaderSize]) : 0;
  if (inspect) {
    if (len > max_inspected_) {
      s.kind = Kind::Error;
      s.type = static_cast<char>(kErNetPacketTooLarge & 0xff);
      s.error = "packet of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(max_inspected_) +
                " bytes";
      return s;
    }
    if (in.size() < total) return s;
    s.kind = Kind::Message;
    s.size = total;
    s.type = static_cast<char>(last_first_);
    return s;
  }
  s.kind = Kind::Forward;
  s.size = std::min(total, in.size());
  left_ = total - s.size;
  return s;
}

}  // namespace sy::mysql
