#include "protocol/mysql/packet.h"

namespace sy::mysql {

std::string encode_packet(uint8_t seq, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + kHeaderSize);
  auto n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>(seq));
  out.append(payload);
  return out;
}

std::string encode_err(uint8_t seq, uint16_t code, std::string_view sqlstate, std::string_view message) {
  std::string p;
  p.push_back(static_cast<char>(0xff));
  p.push_back(static_cast<char>(code & 0xff));
  p.push_back(static_cast<char>(code >> 8));
  p.push_back('#');
  p.append(sqlstate.substr(0, 5));
  p.append(message);
  return encode_packet(seq, p);
}

}  // namespace sy::mysql
