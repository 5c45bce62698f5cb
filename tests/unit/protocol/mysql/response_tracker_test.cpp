#include "protocol/mysql/response_tracker.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/mysql/packet.h"

using namespace sy::mysql;

namespace {
constexpr uint16_t kAutocommit = 0x0002;

std::string u16(uint16_t v) { return {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; }
std::string ok(uint16_t status, char header = '\x00') { return std::string(1, header) + '\x00' + '\x00' + u16(status) + u16(0); }
std::string eof(uint16_t status) { return "\xfe" + u16(0) + u16(status); }
const std::string kColumnCount = "\x02";
const std::string kColumnDef = std::string("\x03" "def") + "\x03" "app";
const std::string kEmptyFirstColumnRow = std::string("\x00\x01x", 3);  // a text row can start with 0x00
const std::string kErr = "\xff\x15\x04#28000denied";

void feed(ResponseTracker& t, const std::string& payload) { t.server_packet(uint32_t(payload.size()), payload); }

// BEGIN; SELECT (rows, in the transaction); COMMIT.
void transaction_with_a_result_set(ResponseTracker& t, bool deprecate_eof) {
  const uint16_t in_trans = kServerStatusInTrans | kAutocommit;
  t.command(kComQuery);
  feed(t, ok(in_trans));
  EXPECT_TRUE(t.in_transaction());
  t.command(kComQuery);
  feed(t, kColumnCount);
  feed(t, kColumnDef);
  feed(t, kColumnDef);
  if (!deprecate_eof) feed(t, eof(in_trans));
  feed(t, kEmptyFirstColumnRow);
  feed(t, kEmptyFirstColumnRow);
  EXPECT_FALSE(t.idle());
  feed(t, deprecate_eof ? ok(in_trans, '\xfe') : eof(in_trans));
  EXPECT_TRUE(t.idle());
  EXPECT_TRUE(t.in_transaction());
  t.command(kComQuery);
  feed(t, ok(kAutocommit));
  EXPECT_FALSE(t.in_transaction());
  EXPECT_TRUE(t.idle());
}
}  // namespace

TEST(MysqlResponseTracker, FollowsATransactionInBothEofModes) {
  for (bool deprecate_eof : {false, true}) {
    ResponseTracker t(deprecate_eof);
    transaction_with_a_result_set(t, deprecate_eof);
  }
}

TEST(MysqlResponseTracker, RowsThatLookLikeTerminatorsAreRows) {
  ResponseTracker t(true);
  t.command(kComQuery);
  feed(t, ok(kServerStatusInTrans));
  t.command(kComQuery);
  feed(t, kColumnCount);
  feed(t, kColumnDef);
  // A row whose first column is 16 MiB or more starts with 0xFE and fills a
  // whole packet; its continuation starts with whatever the data holds.
  t.server_packet(kMaxPacketPayload, "\xfe\x00\x00\x00\x01");
  t.server_packet(10, ok(0));
  EXPECT_FALSE(t.idle());
  EXPECT_TRUE(t.in_transaction());
  feed(t, ok(0, '\xfe'));
  EXPECT_TRUE(t.idle());
  EXPECT_FALSE(t.in_transaction());
}

TEST(MysqlResponseTracker, PreparedStatementsAndMultipleResults) {
  ResponseTracker t(false);
  t.command(kComStmtPrepare);
  // stmt id 1, 1 column, 2 parameters: 2 + EOF + 1 + EOF definitions follow
  feed(t, std::string("\x00\x01\x00\x00\x00", 5) + u16(1) + u16(2) + std::string("\x00\x00\x00", 3));
  for (int i = 0; i < 3; ++i) feed(t, i == 2 ? eof(0) : kColumnDef);
  EXPECT_FALSE(t.idle());
  feed(t, kColumnDef);
  feed(t, eof(0));
  EXPECT_TRUE(t.idle());
  t.command(kComStmtSendLongData);  // no reply
  t.command(kComStmtExecute);
  feed(t, kColumnCount);
  feed(t, kColumnDef);
  feed(t, eof(kServerStatusInTrans));
  feed(t, std::string("\x00\x00\x05", 3));  // binary rows always start with 0x00
  feed(t, eof(kServerStatusInTrans | kServerMoreResultsExist));  // a procedure's second result follows
  EXPECT_FALSE(t.idle());
  feed(t, ok(kServerStatusInTrans));
  EXPECT_TRUE(t.idle());
  EXPECT_TRUE(t.in_transaction());
}

TEST(MysqlResponseTracker, ErrorsInfileStatisticsAndChangeUser) {
  ResponseTracker t(false);
  t.command(kComQuery);
  feed(t, ok(kServerStatusInTrans));
  t.command(kComQuery);
  feed(t, kErr);  // an error leaves the reported status as it was
  EXPECT_TRUE(t.in_transaction());
  t.command(kComQuery);
  feed(t, "\xfb/tmp/rows.tsv");  // LOCAL INFILE request; the file goes the other way
  EXPECT_FALSE(t.idle());
  feed(t, ok(kServerStatusInTrans));
  t.command(kComStatistics);
  feed(t, "Uptime: 10  Threads: 1");
  EXPECT_TRUE(t.idle());
  t.command(kComChangeUser);
  feed(t, "\xfe" "mysql_native_password");  // an authentication switch
  feed(t, ok(kAutocommit));
  EXPECT_TRUE(t.idle());
  EXPECT_FALSE(t.in_transaction());
}

TEST(MysqlResponseTracker, ADeadlockEndsTheTransaction) {
  ResponseTracker t(true);
  t.command(kComQuery);
  feed(t, ok(kServerStatusInTrans));
  t.command(kComQuery);
  feed(t, "\xff\xbd\x04#40001Deadlock found when trying to get lock");  // 1213
  EXPECT_FALSE(t.in_transaction());
  EXPECT_TRUE(t.idle());
}

TEST(MysqlResponseTracker, WhatItCannotFollowStopsIt) {
  ResponseTracker t(true);
  t.command(kComQuery);
  feed(t, ok(kServerStatusInTrans));
  t.command(kComQuery);
  feed(t, std::string("\x00\xfc", 2));  // an OK cut short
  EXPECT_FALSE(t.in_transaction());
  EXPECT_TRUE(t.lost());
  t.command(kComQuery);
  feed(t, ok(kServerStatusInTrans));  // no longer followed: never holds a phase back
  EXPECT_FALSE(t.in_transaction());
}

TEST(ResponseTracker, PrepareRepliesNameTheStatement) {
  sy::mysql::ResponseTracker t(true);
  t.command(0x16);
  // COM_STMT_PREPARE_OK: id 0x01020304, 0 columns, 2 params, then two parameter definitions.
  std::string ok("\x00\x04\x03\x02\x01\x00\x00\x02\x00\x00\x00\x00", 12);
  t.server_packet(static_cast<uint32_t>(ok.size()), ok);
  auto r = t.take_prepare_reply();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->statement_id, 0x01020304u);
  EXPECT_EQ(r->params, 2);
  EXPECT_FALSE(t.take_prepare_reply());
  t.server_packet(5, std::string_view("\x03" "defx", 5));
  t.server_packet(5, std::string_view("\x03" "defy", 5));
  EXPECT_TRUE(t.idle());
  EXPECT_FALSE(t.take_prepare_reply());
  // An error answer is one too; an OK of another command is not.
  t.command(0x16);
  std::string err("\xff\x28\x04#42000oops", 13);
  t.server_packet(static_cast<uint32_t>(err.size()), err);
  r = t.take_prepare_reply();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  t.command(0x03);
  std::string plain("\x00\x00\x00\x02\x00\x00\x00", 7);
  t.server_packet(static_cast<uint32_t>(plain.size()), plain);
  EXPECT_FALSE(t.take_prepare_reply());
}
