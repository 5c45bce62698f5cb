// COM_STMT_EXECUTE parameters spelled as text for a shadow read's replay.
#include "protocol/mysql/stmt_execute.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace sy::mysql;

namespace {

struct Builder {
  std::string p;
  void u(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) p.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void str(std::string_view s) {
    p.push_back(static_cast<char>(s.size()));  // short strings: one-byte length
    p.append(s);
  }
};

// An execute of statement 7 with `types` bound (or not) and the value bytes.
std::string execute(const std::vector<uint16_t>& types, uint8_t null_bits, bool bind, const std::string& values) {
  Builder b;
  b.p.push_back(0x17);
  b.u(7, 4);
  b.u(0, 1);  // no cursor
  b.u(1, 4);  // iteration count
  b.u(null_bits, (types.size() + 7) / 8);
  b.u(bind ? 1 : 0, 1);
  if (bind)
    for (auto t : types) b.u(t, 2);
  return b.p + values;
}

}  // namespace

TEST(StmtExecute, EveryCommonTypeIsSpelledAsTheTextProtocolWould) {
  Builder v;
  v.u(static_cast<uint32_t>(-42), 4);  // LONG
  v.str("Dispatched");                 // VAR_STRING
  double d = 0.1;
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  v.u(bits, 8);                                                     // DOUBLE
  v.u(11, 1), v.u(2026, 2), v.u(12, 1), v.u(1, 1), v.u(10, 1), v.u(0, 1), v.u(5, 1), v.u(120000, 4);  // DATETIME
  // param 4: NULL (bitmap), no bytes
  v.u(9223372036854775808ull, 8);                                  // LONGLONG unsigned
  v.u(8, 1), v.u(1, 1), v.u(1, 4), v.u(2, 1), v.u(3, 1), v.u(4, 1);  // TIME -1 day 02:03:04
  v.str("12.50");                                                   // NEWDECIMAL
  v.u(4, 1), v.u(2026, 2), v.u(2, 1), v.u(28, 1);                   // DATE
  std::vector<uint16_t> types = {3, 253, 5, 12, 6, 0x8008, 11, 246, 10};
  auto e = decode_execute(execute(types, 0x10, true, v.p), 9, {});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->statement_id, 7u);
  std::vector<std::optional<std::string>> want = {"-42", "Dispatched", "0.10000000000000001", "2026-12-01 10:00:05.120000",
                                                  std::nullopt, "9223372036854775808", "-26:03:04", "12.50", "2026-02-28"};
  EXPECT_EQ(e->values, want);
  EXPECT_EQ(e->numeric, (std::vector<bool>{true, false, true, false, false, true, false, false, false}));
  EXPECT_EQ(e->types, types);
}

TEST(StmtExecute, LaterExecutesReuseTheBoundTypes) {
  Builder v;
  v.u(5, 4);
  auto e = decode_execute(execute({3}, 0, false, v.p), 1, {3});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->values, (std::vector<std::optional<std::string>>{"5"}));
  // Without types from before, there is nothing to go by.
  EXPECT_FALSE(decode_execute(execute({3}, 0, false, v.p), 1, {}));
}

TEST(StmtExecute, MalformedOrUnknownIsRefused) {
  Builder v;
  v.u(5, 2);  // a LONG needs 4 bytes
  EXPECT_FALSE(decode_execute(execute({3}, 0, true, v.p), 1, {}));
  EXPECT_FALSE(decode_execute(execute({99}, 0, true, "x"), 1, {}));  // no such type
  EXPECT_FALSE(decode_execute("\x17\x07", 1, {}));
  EXPECT_EQ(execute_statement_id(execute({}, 0, false, "")), 7u);
  // No parameters: nothing after the iteration count.
  auto e = decode_execute(std::string("\x17\x07\0\0\0\0\x01\0\0\0", 10), 0, {});
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->values.empty());
}
