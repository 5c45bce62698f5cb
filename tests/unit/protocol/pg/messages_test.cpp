#include "protocol/pg/messages.h"

#include <gtest/gtest.h>

#include "protocol/common/bytes.h"

using namespace sy::pg;

namespace {
std::string sasl(std::vector<std::string> mechs) {
  std::string out;
  sy::proto::ByteWriter w(out);
  w.u8('R');
  w.be32(0);
  w.be32(kAuthSasl);
  for (auto& m : mechs) w.cstr(m);
  w.u8(0);
  w.patch_be32(1, uint32_t(out.size() - 1));
  return out;
}
}  // namespace

TEST(Messages, StripsChannelBindingMechanisms) {
  auto stripped = strip_channel_binding(sasl({"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}));
  ASSERT_TRUE(stripped);
  EXPECT_EQ(*stripped, sasl({"SCRAM-SHA-256"}));
  EXPECT_EQ(auth_code(*stripped), kAuthSasl);
}

TEST(Messages, LeavesOtherAuthAlone) {
  EXPECT_FALSE(strip_channel_binding(sasl({"SCRAM-SHA-256"})));
  std::string md5("R\0\0\0\x0c\0\0\0\x05salt", 13);
  EXPECT_FALSE(strip_channel_binding(md5));
  EXPECT_EQ(auth_code(md5), 5u);
  // Malformed: length disagrees with the buffer.
  std::string bad("R\0\0\0\x20\0\0\0\x0a", 9);
  EXPECT_FALSE(strip_channel_binding(bad));
}

TEST(Messages, ErrorResponseIsWellFormed) {
  auto e = encode_error({.severity = "FATAL", .sqlstate = "08006", .message = "lost"});
  ASSERT_GE(e.size(), 5u);
  EXPECT_EQ(e[0], 'E');
  EXPECT_EQ(sy::proto::load_be32(e.data() + 1), e.size() - 1);
  EXPECT_NE(e.find(std::string("C08006\0", 7)), std::string::npos);
  EXPECT_EQ(e.back(), '\0');
}

TEST(Messages, BackendKeyRoundTrip) {
  std::string k("K\0\0\0\x0c\0\0\x30\x39\x01\x02\x03\x04", 13);
  auto key = decode_backend_key(k);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->pid, 12345u);
  EXPECT_EQ(key->secret, 0x01020304u);
  EXPECT_FALSE(decode_backend_key(k.substr(0, 12)));
}

TEST(Messages, StatementTextOfQueryAndParse) {
  std::string q("Q\0\0\0\x0dSELECT 1\0", 14);
  auto t = statement_text(q);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->sql, "SELECT 1");
  EXPECT_EQ(with_statement_text('Q', *t, "SELECT 1"), q);

  std::string body = std::string("s1\0UPDATE t SET a = $1\0", 23) + std::string("\0\x01\0\0\0\x19", 6);
  std::string p = "P" + std::string("\0\0\0", 3) + char(body.size() + 4) + body;
  auto pt = statement_text(p);
  ASSERT_TRUE(pt);
  EXPECT_EQ(pt->sql, "UPDATE t SET a = $1");
  EXPECT_EQ(pt->prefix, std::string("s1\0", 3));
  EXPECT_EQ(pt->suffix, std::string("\0\x01\0\0\0\x19", 6));
  auto re = with_statement_text('P', *pt, "UPDATE t SET a = $1, b = 2");
  auto back = statement_text(re);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sql, "UPDATE t SET a = $1, b = 2");
  EXPECT_EQ(back->suffix, pt->suffix);
  EXPECT_FALSE(statement_text(std::string("Q\0\0\0\x05x", 6)));
}
