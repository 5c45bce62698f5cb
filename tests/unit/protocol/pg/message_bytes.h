#pragma once
// PostgreSQL messages as bytes, for the tests of the code that reads them.
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/common/bytes.h"

namespace sy::pg::testing {

//! A typed message: the type byte, the big-endian length (which counts
//! itself), the body.
inline std::string msg(char type, std::string_view body = {}) {
  std::string out;
  sy::proto::ByteWriter w(out);
  w.u8(uint8_t(type));
  w.be32(uint32_t(body.size() + 4));
  w.bytes(body);
  return out;
}

}  // namespace sy::pg::testing
