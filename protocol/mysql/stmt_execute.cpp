#include "protocol/mysql/stmt_execute.h"

#include <cstdio>
#include <cstring>

namespace sy::mysql {

namespace {

// MYSQL_TYPE_* codes (mysql_com.h), as the binary protocol sends them.
enum : uint8_t {
  kDecimal = 0, kTiny = 1, kShort = 2, kLong = 3, kFloat = 4, kDouble = 5, kNull = 6, kTimestamp = 7,
  kLongLong = 8, kInt24 = 9, kDate = 10, kTime = 11, kDateTime = 12, kYear = 13, kVarchar = 15, kBit = 16,
  kJson = 245, kNewDecimal = 246, kEnum = 247, kSet = 248, kTinyBlob = 249, kMediumBlob = 250, kLongBlob = 251,
  kBlob = 252, kVarString = 253, kString = 254, kGeometry = 255,
};

class Reader {
 public:
  explicit Reader(std::string_view p) : p_(p) {}
  bool has(size_t n) const { return pos_ + n <= p_.size(); }
  uint64_t uint(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(static_cast<uint8_t>(p_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::optional<uint64_t> lenenc() {
    if (!has(1)) return std::nullopt;
    auto b = static_cast<uint8_t>(p_[pos_++]);
    if (b < 0xfb) return b;
    size_t n = b == 0xfc ? 2 : b == 0xfd ? 3 : b == 0xfe ? 8 : 0;
    if (n == 0 || !has(n)) return std::nullopt;
    return uint(n);
  }
  std::string_view take(size_t n) {
    auto s = p_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view p_;
  size_t pos_ = 0;
};

std::string two(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "%02u", v % 100);
  return b;
}

// DATE, DATETIME, TIMESTAMP: a length (0, 4, 7 or 11) and the fields.
std::optional<std::string> temporal(Reader& r, bool date_only) {
  if (!r.has(1)) return std::nullopt;
  auto n = r.uint(1);
  if ((n != 0 && n != 4 && n != 7 && n != 11) || !r.has(n)) return std::nullopt;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  uint32_t micro = 0;
  if (n >= 4) {
    year = static_cast<unsigned>(r.uint(2));
    month = static_cast<unsigned>(r.uint(1));
    day = static_cast<unsigned>(r.uint(1));
  }
  if (n >= 7) {
    hour = static_cast<unsigned>(r.uint(1));
    minute = static_cast<unsigned>(r.uint(1));
    second = static_cast<unsigned>(r.uint(1));
  }
  if (n == 11) micro = static_cast<uint32_t>(r.uint(4));
  char b[64];
  std::snprintf(b, sizeof b, "%04u-%s-%s", year % 10000, two(month).c_str(), two(day).c_str());
  std::string out = b;
  if (date_only) return out;
  out += " " + two(hour) + ":" + two(minute) + ":" + two(second);
  if (micro) {
    std::snprintf(b, sizeof b, ".%06u", static_cast<unsigned>(micro % 1000000));
    out += b;
  }
  return out;
}

// TIME: a length (0, 8 or 12), sign, days and the fields; hours may pass 24.
std::optional<std::string> time_of_day(Reader& r) {
  if (!r.has(1)) return std::nullopt;
  auto n = r.uint(1);
  if ((n != 0 && n != 8 && n != 12) || !r.has(n)) return std::nullopt;
  bool negative = false;
  uint64_t hours = 0;
  unsigned minute = 0, second = 0;
  uint32_t micro = 0;
  if (n >= 8) {
    negative = r.uint(1) != 0;
    hours = r.uint(4) * 24;
    hours += r.uint(1);
    minute = static_cast<unsigned>(r.uint(1));
    second = static_cast<unsigned>(r.uint(1));
  }
  if (n == 12) micro = static_cast<uint32_t>(r.uint(4));
  char b[64];
  std::snprintf(b, sizeof b, "%s%02llu:%s:%s", negative ? "-" : "", static_cast<unsigned long long>(hours),
                two(minute).c_str(), two(second).c_str());
  std::string out = b;
  if (micro) {
    std::snprintf(b, sizeof b, ".%06u", static_cast<unsigned>(micro % 1000000));
    out += b;
  }
  return out;
}

template <class T>
std::string number(T v) {
  return std::to_string(v);
}

// One value of type `type` (low byte the code, 0x80 in the high byte unsigned).
bool value(Reader& r, uint16_t type, std::optional<std::string>& out, bool& numeric) {
  const bool is_unsigned = (type & 0x8000) != 0;
  numeric = false;
  switch (static_cast<uint8_t>(type & 0xff)) {
    case kNull: out.reset(); return true;
    case kTiny:
      if (!r.has(1)) return false;
      numeric = true;
      out = is_unsigned ? number(static_cast<uint8_t>(r.uint(1))) : number(static_cast<int8_t>(r.uint(1)));
      return true;
    case kShort:
    case kYear:
      if (!r.has(2)) return false;
      numeric = true;
      out = is_unsigned ? number(static_cast<uint16_t>(r.uint(2))) : number(static_cast<int16_t>(r.uint(2)));
      return true;
    case kLong:
    case kInt24:
      if (!r.has(4)) return false;
      numeric = true;
      out = is_unsigned ? number(static_cast<uint32_t>(r.uint(4))) : number(static_cast<int32_t>(r.uint(4)));
      return true;
    case kLongLong:
      if (!r.has(8)) return false;
      numeric = true;
      out = is_unsigned ? number(r.uint(8)) : number(static_cast<int64_t>(r.uint(8)));
      return true;
    case kFloat: {
      if (!r.has(4)) return false;
      auto bits = static_cast<uint32_t>(r.uint(4));
      float f;
      std::memcpy(&f, &bits, sizeof f);
      char b[64];
      std::snprintf(b, sizeof b, "%.9g", static_cast<double>(f));  // enough digits to read back the same float
      out = b;
      numeric = std::strpbrk(b, "ni") == nullptr;  // inf and nan stay strings
      return true;
    }
    case kDouble: {
      if (!r.has(8)) return false;
      auto bits = r.uint(8);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      char b[64];
      std::snprintf(b, sizeof b, "%.17g", d);
      out = b;
      numeric = std::strpbrk(b, "ni") == nullptr;
      return true;
    }
    case kDate: {
      auto s = temporal(r, true);
      if (!s) return false;
      out = std::move(s);
      return true;
    }
    case kDateTime:
    case kTimestamp: {
      auto s = temporal(r, false);
      if (!s) return false;
      out = std::move(s);
      return true;
    }
    case kTime: {
      auto s = time_of_day(r);
      if (!s) return false;
      out = std::move(s);
      return true;
    }
    case kDecimal: case kNewDecimal: case kVarchar: case kBit: case kJson: case kEnum: case kSet: case kTinyBlob:
    case kMediumBlob: case kLongBlob: case kBlob: case kVarString: case kString: case kGeometry: {
      auto n = r.lenenc();
      if (!n || !r.has(*n)) return false;
      out = std::string(r.take(static_cast<size_t>(*n)));
      return true;
    }
    default: return false;
  }
}

}  // namespace

std::optional<uint32_t> execute_statement_id(std::string_view payload) {
  if (payload.size() < 5) return std::nullopt;
  Reader r(payload.substr(1));
  return static_cast<uint32_t>(r.uint(4));
}

std::optional<ExecuteParams> decode_execute(std::string_view payload, uint16_t num_params,
                                            const std::vector<uint16_t>& bound_types) {
  // command, statement id (4), flags (1), iteration count (4)
  if (payload.size() < 10) return std::nullopt;
  Reader r(payload);
  r.uint(1);
  ExecuteParams out;
  out.statement_id = static_cast<uint32_t>(r.uint(4));
  r.uint(1);
  r.uint(4);
  if (num_params == 0) return out;
  const size_t bitmap = (num_params + 7) / 8;
  if (!r.has(bitmap + 1)) return std::nullopt;
  auto nulls = r.take(bitmap);
  const bool new_types = r.uint(1) == 1;
  if (new_types) {
    if (!r.has(2 * size_t(num_params))) return std::nullopt;
    for (uint16_t i = 0; i < num_params; ++i) out.types.push_back(static_cast<uint16_t>(r.uint(2)));
  } else {
    if (bound_types.size() != num_params) return std::nullopt;
    out.types = bound_types;
  }
  out.values.resize(num_params);
  out.numeric.resize(num_params);
  for (uint16_t i = 0; i < num_params; ++i) {
    if (static_cast<uint8_t>(nulls[i / 8]) & (1u << (i % 8))) continue;  // NULL: no value bytes
    bool numeric = false;
    if (!value(r, out.types[i], out.values[i], numeric)) return std::nullopt;
    out.numeric[i] = numeric;
  }
  return out;
}

}  // namespace sy::mysql
