#include "protocol/mysql/handshake.h"

#include <gtest/gtest.h>

#include <string>

namespace sy::mysql {
namespace {

using namespace std::string_literals;

TEST(AuthSwitchPlugin, NamesThePluginSwitchedTo) {
  EXPECT_EQ(auth_switch_plugin("\xfe" "caching_sha2_password\0" "0123456789abcdefghij\0"s), "caching_sha2_password");
  EXPECT_EQ(auth_switch_plugin("\xfe" "mysql_native_password\0"s), "mysql_native_password");
}

TEST(AuthSwitchPlugin, TheOldPasswordSwitchNamesNone) { EXPECT_EQ(auth_switch_plugin("\xfe"), ""); }

TEST(AuthSwitchPlugin, OtherPacketsAreNotSwitches) {
  EXPECT_EQ(auth_switch_plugin(""), std::nullopt);
  EXPECT_EQ(auth_switch_plugin("\x01\x04"), std::nullopt);
  EXPECT_EQ(auth_switch_plugin("\xfe" "unterminated"), std::nullopt);
}

TEST(Sha2FullAuthRequest, OnlyTheTwoByteMarker) {
  EXPECT_TRUE(is_sha2_full_auth_request("\x01\x04"));
  EXPECT_FALSE(is_sha2_full_auth_request("\x01\x03"));  // fast auth succeeded
  EXPECT_FALSE(is_sha2_full_auth_request("\x01\x04\x00"s));
  EXPECT_FALSE(is_sha2_full_auth_request("\x01-----BEGIN PUBLIC KEY-----"));
}

}  // namespace
}  // namespace sy::mysql
