#pragma once
// Big-endian readers and writers over byte spans. Both wire protocols we speak
// are framed with network-order integers; keeping the arithmetic here means the
// decoders never hand-roll shifts.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::proto {

inline uint32_t load_be32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

inline uint16_t load_be16(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return uint16_t((uint16_t(b[0]) << 8) | uint16_t(b[1]));
}

// Appends to a std::string, which doubles as the output buffer for encoders.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void be16(uint16_t v) {
    u8(uint8_t(v >> 8));
    u8(uint8_t(v));
  }
  void be32(uint32_t v) {
    u8(uint8_t(v >> 24));
    u8(uint8_t(v >> 16));
    u8(uint8_t(v >> 8));
    u8(uint8_t(v));
  }
  void bytes(std::string_view s) { out_.append(s); }
  void cstr(std::string_view s) {
    out_.append(s);
    out_.push_back('\0');
  }
  size_t size() const { return out_.size(); }
  // Overwrites a length placeholder written earlier with be32(0).
  void patch_be32(size_t at, uint32_t v) {
    out_[at] = char(v >> 24);
    out_[at + 1] = char(v >> 16);
    out_[at + 2] = char(v >> 8);
    out_[at + 3] = char(v);
  }

 private:
  std::string& out_;
};

// Bounds-checked cursor; every read reports failure instead of running off the end,
// so malformed input can never make a decoder read outside its message.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool empty() const { return pos_ >= in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  std::optional<uint32_t> be32() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = load_be32(in_.data() + pos_);
    pos_ += 4;
    return v;
  }
  std::optional<uint16_t> be16() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = load_be16(in_.data() + pos_);
    pos_ += 2;
    return v;
  }
  // A NUL-terminated string; nullopt if no terminator before the end.
  std::optional<std::string_view> cstr() {
    auto nul = in_.find('\0', pos_);
    if (nul == std::string_view::npos) return std::nullopt;
    auto s = in_.substr(pos_, nul - pos_);
    pos_ = nul + 1;
    return s;
  }
  std::optional<std::string_view> bytes(size_t n) {
    if (remaining() < n) return std::nullopt;
    auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view rest() const { return in_.substr(pos_); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace sy::proto
