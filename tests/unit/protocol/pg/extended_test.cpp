// Parse and Bind as a shadow read replays them, and the rows of an answer it keeps.
#include "protocol/pg/extended.h"
#include "protocol/pg/result_rows.h"

#include <gtest/gtest.h>

#include "tests/unit/protocol/pg/message_bytes.h"

using namespace sy::pg;
using sy::pg::testing::msg;

namespace {
std::string be16(uint16_t v) { return {char(v >> 8), char(v)}; }
std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string cstr(std::string_view s) { return std::string(s) + '\0'; }
}  // namespace

TEST(Extended, ParseWithTypes) {
  // The decoded views point into the message: it must outlive them.
  const auto m = msg('P', cstr("s1") + cstr("SELECT $1::int, $2") + be16(2) + be32(23) + be32(0));
  auto p = decode_parse(m);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->statement, "s1");
  EXPECT_EQ(p->sql, "SELECT $1::int, $2");
  EXPECT_EQ(p->param_types, (std::vector<uint32_t>{23, 0}));
  EXPECT_FALSE(decode_parse(msg('P', cstr("s1") + cstr("SELECT 1") + be16(1))));  // a type missing
  EXPECT_FALSE(decode_parse(msg('P', cstr("s1"))));
}

TEST(Extended, BindFormatsAreExpandedPerValue) {
  std::string values = be16(3) + be32(2) + "42" + be32(0xffffffffu) + be32(4) + std::string("\0\0\0\7", 4);
  // One format per value.
  const auto m1 = msg('B', cstr("") + cstr("s1") + be16(3) + be16(0) + be16(0) + be16(1) + values + be16(1) + be16(1));
  auto b = decode_bind(m1);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->statement, "s1");
  EXPECT_EQ(b->formats, (std::vector<int16_t>{0, 0, 1}));
  ASSERT_EQ(b->values.size(), 3u);
  EXPECT_EQ(*b->values[0], "42");
  EXPECT_FALSE(b->values[1]);
  EXPECT_EQ(*b->values[2], std::string_view("\0\0\0\7", 4));
  EXPECT_FALSE(b->text_results);  // its one result format code is binary
  // None: all text. One: all that one.
  const auto m2 = msg('B', cstr("p") + cstr("") + be16(0) + values + be16(0));
  b = decode_bind(m2);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->portal, "p");
  EXPECT_EQ(b->formats, (std::vector<int16_t>{0, 0, 0}));
  EXPECT_TRUE(b->text_results);  // no result format codes: all text
  const auto m3 = msg('B', cstr("") + cstr("") + be16(1) + be16(1) + values + be16(0));
  b = decode_bind(m3);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->formats, (std::vector<int16_t>{1, 1, 1}));
  const auto m4 = msg('B', cstr("") + cstr("") + be16(0) + values + be16(3) + be16(0) + be16(1) + be16(0));
  b = decode_bind(m4);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->text_results);  // one column of three in binary
}

TEST(Extended, MalformedBindsAreRefused) {
  std::string values = be16(1) + be32(2) + "42";
  EXPECT_FALSE(decode_bind(msg('B', cstr("") + cstr("") + be16(2) + be16(0) + be16(0) + values + be16(0))));  // 2 formats, 1 value
  EXPECT_FALSE(decode_bind(msg('B', cstr("") + cstr("") + be16(0) + be16(1) + be32(10) + "42" + be16(0))));  // value cut
  EXPECT_FALSE(decode_bind(msg('B', cstr("") + cstr("") + be16(1) + be16(7) + values + be16(0))));  // format 7
  EXPECT_FALSE(decode_bind(msg('B', cstr("") + cstr("") + be16(0) + values)));  // result formats missing
  EXPECT_FALSE(decode_bind(msg('P', cstr("") + cstr("") + be16(0) + values + be16(0))));
}

TEST(Extended, CloseOfAStatement) {
  const auto close = msg('C', "S" + cstr("s1"));
  EXPECT_EQ(closed_statement(close), "s1");
  EXPECT_FALSE(closed_statement(msg('C', "P" + cstr("p1"))));
}

TEST(ResultRows, DataRowValuesNullsAndEmpties) {
  const auto row = msg('D', be16(3) + be32(2) + "42" + be32(0xffffffffu) + be32(0));
  auto r = decode_data_row(row);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(*(*r)[0], "42");
  EXPECT_FALSE((*r)[1]);  // NULL
  EXPECT_EQ(*(*r)[2], "");  // not NULL
  EXPECT_TRUE(decode_data_row(msg('D', be16(0))));
  EXPECT_FALSE(decode_data_row(msg('D', be16(2) + be32(2) + "42")));          // a column missing
  EXPECT_FALSE(decode_data_row(msg('D', be16(1) + be32(5) + "42")));          // a value cut
  EXPECT_FALSE(decode_data_row(msg('D', be16(1) + be32(2) + "42" + "x")));    // bytes left over
  EXPECT_FALSE(decode_data_row(msg('C', be16(0))));
}

TEST(ResultRows, CommandTag) {
  EXPECT_EQ(command_tag(msg('C', cstr("SELECT 3"))), "SELECT 3");
  EXPECT_FALSE(command_tag(msg('C', "SELECT 3")));  // no terminator
  EXPECT_FALSE(command_tag(msg('D', cstr("SELECT 3"))));
}
