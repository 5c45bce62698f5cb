#pragma once
// Incremental walker over MySQL packets, the counterpart of pg::FrameScanner:
// packets the proxy must see whole (the handshake; COM_QUERY and
// COM_STMT_PREPARE in the command phase) are buffered up to a limit, all
// others stream through in pieces. Never touches a socket.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/pg/frame_scanner.h"

namespace sy::mysql {

class PacketScanner {
 public:
  //! Bytes of a statement of 16 MiB or more (which streams) buffered before
  //! its first piece is returned (capped by the inspection limit).
  static constexpr size_t kStatementPeek = 4096;

  using Kind = pg::FrameScanner::Kind;
  using Step = pg::FrameScanner::Step;

  explicit PacketScanner(uint32_t max_inspected) : max_inspected_(max_inspected) {}

  //! Every packet whole (handshake and authentication).
  void inspect_all(bool on) { all_ = on; }
  //! Command packets (sequence id 0) starting with COM_QUERY or COM_STMT_PREPARE.
  void inspect_statements(bool on) { statements_ = on; }
  //! Packets of at most `n` payload bytes whole (a server's OK and EOF), and at
  //! least one payload byte with the header of any other.
  void inspect_small(uint32_t n) { small_ = n; }

  Step next(std::string_view in);

  bool at_boundary() const { return left_ == 0; }
  uint8_t last_seq() const { return last_seq_; }
  uint8_t last_first_byte() const { return last_first_; }

 private:
  uint32_t max_inspected_;
  bool all_ = false;
  bool statements_ = false;
  uint32_t small_ = 0;
  size_t left_ = 0;
  uint8_t last_seq_ = 0;
  uint8_t last_first_ = 0;
};

}  // namespace sy::mysql
