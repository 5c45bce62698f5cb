#include "protocol/pg/startup.h"

#include <gtest/gtest.h>

#include "protocol/pg/messages.h"

using namespace sy::pg;

namespace {
std::string startup_bytes(std::vector<std::pair<std::string, std::string>> params) {
  StartupPacket p;
  p.protocol = kProtocol3;
  p.params = std::move(params);
  return encode_startup(p);
}
}  // namespace

TEST(Startup, DecodesParameters) {
  auto bytes = startup_bytes({{"user", "alice"}, {"database", "acme"}, {"application_name", "psql"}});
  auto d = decode_startup(bytes);
  ASSERT_EQ(d.status, DecodeStatus::Ok);
  EXPECT_EQ(d.consumed, bytes.size());
  EXPECT_EQ(d.packet.kind, StartupKind::Startup);
  EXPECT_EQ(d.packet.param("user"), "alice");
  EXPECT_EQ(d.packet.param("database"), "acme");
  EXPECT_EQ(d.packet.param("missing"), "");
}

TEST(Startup, NeedsMoreUntilWhole) {
  auto bytes = startup_bytes({{"user", "alice"}});
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(decode_startup(std::string_view(bytes).substr(0, n)).status, DecodeStatus::NeedMore) << n;
}

TEST(Startup, SslAndGssAndCancel) {
  EXPECT_EQ(decode_startup(encode_ssl_request()).packet.kind, StartupKind::SslRequest);
  auto cancel = encode_cancel_request({1234, 0xdeadbeef});
  auto d = decode_startup(cancel);
  ASSERT_EQ(d.status, DecodeStatus::Ok);
  EXPECT_EQ(d.packet.kind, StartupKind::CancelRequest);
  EXPECT_EQ(d.packet.cancel, (CancelKey{1234, 0xdeadbeef}));
  std::string gss("\0\0\0\x08\x04\xd2\x16\x30", 8);
  EXPECT_EQ(decode_startup(gss).packet.kind, StartupKind::GssEncRequest);
}

TEST(Startup, RejectsOversizedAndTinyLengths) {
  std::string huge("\x7f\xff\xff\xff", 4);
  EXPECT_EQ(decode_startup(huge).status, DecodeStatus::Error);
  std::string over("\x00\x00\x27\x11", 4);  // 10001
  EXPECT_EQ(decode_startup(over).status, DecodeStatus::Error);
  std::string tiny("\x00\x00\x00\x04", 4);
  EXPECT_EQ(decode_startup(tiny).status, DecodeStatus::Error);
}

TEST(Startup, RejectsGarbage) {
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(decode_startup(http).status, DecodeStatus::Error);
  auto bad_version = startup_bytes({{"user", "a"}});
  bad_version[4] = 0x00, bad_version[5] = 0x02;  // protocol 2.0
  EXPECT_EQ(decode_startup(bad_version).status, DecodeStatus::Error);
  auto no_user = startup_bytes({{"database", "a"}});
  EXPECT_EQ(decode_startup(no_user).status, DecodeStatus::Error);
  auto unterminated = startup_bytes({{"user", "a"}});
  unterminated[unterminated.size() - 2] = 'x';
  unterminated.back() = 'y';
  EXPECT_EQ(decode_startup(unterminated).status, DecodeStatus::Error);
}
