#include "protocol/mysql/response_tracker.h"

#include "protocol/mysql/packet.h"

namespace sy::mysql {

namespace {
constexpr size_t kMaxPending = 1024;  // far more than any client pipelines
constexpr uint16_t kErLockDeadlock = 1213;

// A length-encoded integer at `pos`; false when it runs past the data.
bool skip_lenenc(std::string_view p, size_t& pos) {
  if (pos >= p.size()) return false;
  auto b = static_cast<uint8_t>(p[pos]);
  size_t n = b < 0xfb ? 1 : b == 0xfc ? 3 : b == 0xfd ? 4 : b == 0xfe ? 9 : 0;
  if (n == 0 || pos + n > p.size()) return false;
  pos += n;
  return true;
}

uint16_t u16(std::string_view p, size_t pos) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[pos]) | (static_cast<uint8_t>(p[pos + 1]) << 8));
}
}  // namespace

void ResponseTracker::command(uint8_t cmd) {
  if (lost_) return;
  if (cmd == kComQuit || cmd == kComStmtClose || cmd == kComStmtSendLongData) return;  // no reply
  if (pending_.size() >= kMaxPending) return reset();
  pending_.push_back(cmd);
}

void ResponseTracker::begin_reply() {
  current_ = pending_.front();
  pending_.pop_front();
  switch (current_) {
    case kComFieldList: state_ = State::UntilEof; break;
    case kComStatistics: state_ = State::Single; break;
    case kComChangeUser: state_ = State::Login; break;
    case kComStmtFetch: state_ = State::Rows; break;
    default: state_ = State::First; break;
  }
}

bool ResponseTracker::read_ok_status(std::string_view p, uint16_t& status) const {
  size_t pos = 1;
  if (!skip_lenenc(p, pos) || !skip_lenenc(p, pos) || pos + 2 > p.size()) return false;
  status = u16(p, pos);
  return true;
}

bool ResponseTracker::read_eof_status(std::string_view p, uint16_t& status) const {
  if (p.size() < 5) return false;
  status = u16(p, 3);
  return true;
}

void ResponseTracker::error(std::string_view payload) {
  // A deadlock rolls the whole transaction back; other errors leave it open.
  if (payload.size() >= 3 && u16(payload, 1) == kErLockDeadlock) in_transaction_ = false;
  finish(0, false);
}

void ResponseTracker::finish(uint16_t status, bool has_status) {
  if (has_status) {
    in_transaction_ = (status & kServerStatusInTrans) != 0;
    if (status & kServerMoreResultsExist) {
      state_ = State::First;  // the next result of the same command
      return;
    }
  }
  state_ = State::Idle;
}

void ResponseTracker::reset() {
  lost_ = true;
  in_transaction_ = false;
  pending_.clear();
  state_ = State::Idle;
}

void ResponseTracker::server_packet(uint32_t length, std::string_view payload) {
  if (lost_) return;
  if (continuation_) {  // the rest of a 16 MiB packet: no header byte of its own
    continuation_ = length == kMaxPacketPayload;
    return;
  }
  continuation_ = length == kMaxPacketPayload;
  if (state_ == State::Idle) {
    if (pending_.empty()) return;  // unsolicited (a shutdown notice, say): nothing to follow
    begin_reply();
  }
  if (payload.empty()) return length == 0 ? void() : reset();
  const auto b = static_cast<uint8_t>(payload[0]);
  const bool short_fe = b == 0xfe && length < kMaxPacketPayload;  // EOF or OK, never a row
  uint16_t status = 0;
  switch (state_) {
    case State::Idle:
      break;
    case State::First:
      if (b == 0x00 && current_ == kComStmtPrepare) {
        if (payload.size() < 9) return reset();
        uint32_t columns = u16(payload, 5), params = u16(payload, 7);
        prepare_reply_ = PrepareReply{true, uint32_t(u16(payload, 1)) | (uint32_t(u16(payload, 3)) << 16),
                                      static_cast<uint16_t>(params)};
        remaining_ = params + columns + (deprecate_eof_ ? 0 : (params ? 1 : 0) + (columns ? 1 : 0));
        if (remaining_ == 0) finish(0, false);
        else state_ = State::Prepared;
      } else if (b == 0x00) {
        if (!read_ok_status(payload, status)) return reset();
        finish(status, true);
      } else if (b == 0xff) {
        if (current_ == kComStmtPrepare) prepare_reply_ = PrepareReply{};
        error(payload);
      } else if (b == 0xfb) {
        uploading_ = true;  // LOCAL INFILE: the client sends the file; the server's OK follows
      } else if (short_fe) {
        // COM_SET_OPTION answers with an EOF (an OK with an 0xFE header under DEPRECATE_EOF).
        if (!(deprecate_eof_ ? read_ok_status(payload, status) : read_eof_status(payload, status))) return reset();
        finish(status, true);
      } else {
        state_ = deprecate_eof_ ? State::Rows : State::Columns;  // a column count
      }
      break;
    case State::Columns:
      if (b == 0xff) {
        error(payload);
      } else if (short_fe) {
        if (!read_eof_status(payload, status)) return reset();
        if (status & kServerStatusCursorExists) finish(status, true);  // rows come with COM_STMT_FETCH
        else state_ = State::Rows;
      }
      break;
    case State::Rows:
      if (b == 0xff) {
        error(payload);
      } else if (short_fe) {
        if (!(deprecate_eof_ ? read_ok_status(payload, status) : read_eof_status(payload, status))) return reset();
        finish(status, true);
      }
      break;
    case State::Prepared:
      if (--remaining_ == 0) finish(0, false);
      break;
    case State::UntilEof:
      if (b == 0xff) {
        error(payload);
      } else if (short_fe) {
        if (!read_eof_status(payload, status)) return reset();
        finish(status, true);
      }
      break;
    case State::Single:
      finish(0, false);
      break;
    case State::Login:
      if (b == 0x00) {
        if (!read_ok_status(payload, status)) return reset();
        finish(status, true);
      } else if (b == 0xff) {
        error(payload);
      }  // else an authentication switch or more data: the exchange goes on
      break;
  }
}

}  // namespace sy::mysql
