#include "protocol/mysql/handshake.h"

#include <gtest/gtest.h>

#include <string>

namespace sy::mysql {
namespace {

using namespace std::string_literals;

TEST(AuthSwitch, NamesThePluginAndCarriesTheNewNonce) {
  auto sw = parse_auth_switch("\xfe" "caching_sha2_password\0" "0123456789abcdefghij\0"s);
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->plugin, "caching_sha2_password");
  EXPECT_EQ(sw->data, "0123456789abcdefghij");
  sw = parse_auth_switch("\xfe" "mysql_native_password\0"s);
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->plugin, "mysql_native_password");
  EXPECT_EQ(sw->data, "");
}

TEST(AuthSwitch, TheOldPasswordSwitchNamesNone) {
  auto sw = parse_auth_switch("\xfe");
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->plugin, "");
}

TEST(AuthSwitch, OtherPacketsAreNotSwitches) {
  EXPECT_FALSE(parse_auth_switch(""));
  EXPECT_FALSE(parse_auth_switch("\x01\x04"));
  EXPECT_FALSE(parse_auth_switch("\xfe" "unterminated"));
}

// A MySQL 8 greeting as the server sends it: the nonce comes in two parts
// around the capability flags, the second ending in a NUL.
TEST(Greeting, CarriesTheTwentyByteNonce) {
  std::string g = "\x0a" "8.0.36\0"s + "\x2a\0\0\0"s + "ABCDEFGH" + "\0"s + "\xff\xff"s + "\xff" + "\x02\0"s +
                  "\xff\xdf"s + "\x15" + std::string(10, '\0') + "IJKLMNOPQRST" + "\0"s + "caching_sha2_password\0"s;
  auto parsed = parse_greeting(g);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->connection_id, 42u);
  EXPECT_EQ(parsed->scramble, "ABCDEFGHIJKLMNOPQRST");
  EXPECT_EQ(parsed->auth_plugin, "caching_sha2_password");
}

TEST(Sha2FullAuthRequest, OnlyTheTwoByteMarker) {
  EXPECT_TRUE(is_sha2_full_auth_request("\x01\x04"));
  EXPECT_FALSE(is_sha2_full_auth_request("\x01\x03"));  // fast auth succeeded
  EXPECT_FALSE(is_sha2_full_auth_request("\x01\x04\x00"s));
  EXPECT_FALSE(is_sha2_full_auth_request("\x01-----BEGIN PUBLIC KEY-----"));
}

}  // namespace
}  // namespace sy::mysql
