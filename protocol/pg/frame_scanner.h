#pragma once
// Incremental walker over typed PostgreSQL messages (1-byte type, int32 length
// that counts itself, body). It decides, per message, whether the proxy must
// see it whole ("inspected": Query, Parse, auth) or may stream it through in
// pieces (DataRow, CopyData...). Streaming keeps memory flat for large results
// and COPY; inspecting is bounded by a configurable limit.
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sy::pg {

//! PostgreSQL refuses anything above 1 GiB - 1; so do we, before buffering.
inline constexpr uint32_t kMaxMessageLength = 0x3fffffff;

class FrameScanner {
 public:
  enum class Kind {
    NeedMore,  //!< nothing decidable in `in`; read more (keep the unconsumed bytes)
    Forward,   //!< `size` bytes may be relayed as they are
    Message,   //!< one whole inspected message of `size` bytes (header included)
    Error,     //!< the stream is corrupt; `error` says why. Not recoverable.
  };

  struct Step {
    Kind kind = Kind::NeedMore;
    size_t size = 0;
    char type = 0;
    std::string error;
  };

  explicit FrameScanner(uint32_t max_inspected_bytes) : max_inspected_(max_inspected_bytes) {}

  //! Buffer these message types whole before handing them over.
  void inspect(char type, bool on = true) { inspect_.set(static_cast<unsigned char>(type), on); }
  void inspect_none() {
    inspect_.reset();
    inspect_small_.reset();
  }
  //! Hand over messages of this type whole when they are at most `max_bytes`
  //! long (the length field's value), and stream longer ones through as any
  //! other: for messages the proxy would like to read but must never refuse
  //! (a Bind carrying megabytes of parameters). One limit for all such types.
  void inspect_if_small(char type, uint32_t max_bytes) {
    inspect_small_.set(static_cast<unsigned char>(type));
    small_max_ = max_bytes;
  }
  //! Streams this type through again, from the next message of it on.
  void stop_inspecting(char type) {
    inspect_.reset(static_cast<unsigned char>(type));
    inspect_small_.reset(static_cast<unsigned char>(type));
  }

  //! Decides what to do with the front of `in` (the unconsumed bytes). The caller
  //! drops `size` bytes from the front after Forward or Message and calls again.
  Step next(std::string_view in);

  //! True between messages: the only place where the proxy may inject its own.
  bool at_boundary() const { return streaming_left_ == 0; }

  //! Type byte of the message most recently started.
  char last_type() const { return last_type_; }

  //! Largest buffer a caller may need to hold one inspected message.
  uint32_t max_inspected() const { return max_inspected_; }

 private:
  std::bitset<256> inspect_;
  std::bitset<256> inspect_small_;
  uint32_t small_max_ = 0;
  uint32_t max_inspected_;
  size_t streaming_left_ = 0;
  char last_type_ = 0;  //!< bytes still to relay of a streamed message
};

}  // namespace sy::pg
