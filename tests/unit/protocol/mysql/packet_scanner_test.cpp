#include "protocol/mysql/packet_scanner.h"

#include <gtest/gtest.h>

#include <random>

#include "protocol/mysql/handshake.h"
#include "protocol/mysql/packet.h"

using namespace sy::mysql;
using Kind = PacketScanner::Kind;

namespace {
std::string command(uint8_t cmd, std::string_view body, uint8_t seq = 0) {
  std::string p(1, static_cast<char>(cmd));
  p.append(body);
  return encode_packet(seq, p);
}

struct Result {
  std::vector<std::string> messages;
  std::string forwarded;
  bool error = false;
};

Result feed(PacketScanner scan, const std::string& stream, size_t chunk) {
  Result r;
  std::string pending;
  for (size_t pos = 0; pos < stream.size() || !pending.empty();) {
    if (pos < stream.size()) {
      size_t n = std::min(chunk, stream.size() - pos);
      pending.append(stream, pos, n);
      pos += n;
    }
    for (;;) {
      auto s = scan.next(pending);
      if (s.kind == Kind::NeedMore) break;
      if (s.kind == Kind::Error) {
        r.error = true;
        return r;
      }
      if (s.kind == Kind::Message) r.messages.push_back(pending.substr(0, s.size));
      r.forwarded += pending.substr(0, s.size);
      pending.erase(0, s.size);
    }
    if (pos >= stream.size()) break;
  }
  return r;
}
}  // namespace

TEST(MysqlPacketScanner, SplitFeedsGiveTheSameStatements) {
  std::string stream = command(kComQuery, "UPDATE transfers SET state = 'sent'") + command(kComPing, "") +
                       command(kComStmtPrepare, "SELECT ?") + command(kComStmtExecute, std::string(3000, 'x')) +
                       // a data packet (LOAD DATA LOCAL) that happens to start with 0x03 is not a command
                       command(kComQuery, "not a command", 2);
  PacketScanner scan(1 << 16);
  scan.inspect_statements(true);
  auto whole = feed(scan, stream, stream.size());
  ASSERT_FALSE(whole.error);
  ASSERT_EQ(whole.messages.size(), 2u);
  EXPECT_EQ(whole.forwarded, stream);
  for (size_t chunk : {1, 2, 3, 4, 5, 7, 100, 2999}) {
    auto split = feed(scan, stream, chunk);
    EXPECT_EQ(split.messages, whole.messages) << chunk;
    EXPECT_EQ(split.forwarded, stream) << chunk;
  }
}

TEST(MysqlPacketScanner, OversizedStatementIsAnError) {
  PacketScanner scan(100);
  scan.inspect_statements(true);
  auto big = command(kComQuery, std::string(200, 'x'));
  auto s = scan.next(std::string_view(big).substr(0, 5));
  EXPECT_EQ(s.kind, Kind::Error);
}

TEST(MysqlPacketScanner, ContinuationPacketsStream) {
  PacketScanner scan(1 << 30);
  scan.inspect_statements(true);
  // A 16 MiB - 1 payload announces a continuation: relayed, never buffered
  // whole, but its first 4 KiB are, so the statement can be judged by them.
  std::string start = std::string("\xff\xff\xff\x00\x03", 5) + "INSERT INTO orders VALUES ";
  EXPECT_EQ(scan.next(start).kind, Kind::NeedMore);
  start.resize(4 + PacketScanner::kStatementPeek, 'x');
  auto s = scan.next(start);
  EXPECT_EQ(s.kind, Kind::Forward);
  EXPECT_EQ(s.size, start.size());
  EXPECT_FALSE(scan.at_boundary());
}

TEST(MysqlHandshake, GreetingCapabilitiesRoundTrip) {
  std::string g;
  g.push_back(10);
  g += "10.11.19-MariaDB";
  g.push_back('\0');
  g += std::string("\x2a\x00\x00\x00", 4);         // connection id 42
  g += "abcdefgh";                                  // scramble part 1
  g.push_back('\0');
  g += std::string("\xff\xff", 2);                  // caps low
  g += std::string("\x21\x02\x00", 3);              // charset, status
  g += std::string("\xff\x81", 2);                  // caps high
  g.push_back(21);
  g += std::string(10, '\0');
  g += std::string("ijklmnopqrstu", 13);
  g += "mysql_native_password";
  g.push_back('\0');
  auto parsed = parse_greeting(g);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->connection_id, 42u);
  EXPECT_EQ(parsed->auth_plugin, "mysql_native_password");
  EXPECT_TRUE(parsed->capabilities & kClientSsl);
  set_greeting_capabilities(g, *parsed, parsed->capabilities & ~kClientSsl & ~kClientCompress);
  auto again = parse_greeting(g);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->capabilities & kClientSsl);
  EXPECT_FALSE(again->capabilities & kClientCompress);
  EXPECT_FALSE(parse_greeting("\x09garbage"));
}

TEST(MysqlHandshake, ClientHelloFields) {
  std::string h;
  uint32_t caps = kClientProtocol41 | kClientSecureConnection | kClientPluginAuth | kClientConnectWithDb |
                  kClientConnectAttrs | kClientPluginAuthLenencData;
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>((caps >> (8 * i)) & 0xff));
  h += std::string(4, '\0') + std::string(1, '\x21') + std::string(23, '\0');
  h += "app";
  h.push_back('\0');
  h += std::string("\x02xy", 3);  // lenenc auth response
  h += "shop";
  h.push_back('\0');
  h += "mysql_native_password";
  h.push_back('\0');
  std::string attrs = std::string("\x0cprogram_name", 13) + std::string("\x06mysql2", 7);
  h.push_back(static_cast<char>(attrs.size()));
  h += attrs;
  auto hello = parse_client_hello(h);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->user, "app");
  EXPECT_EQ(hello->database, "shop");
  EXPECT_EQ(hello->auth_plugin, "mysql_native_password");
  EXPECT_EQ(hello->program_name, "mysql2");
  EXPECT_FALSE(hello->ssl_request);
  auto ssl = ssl_request_from(h);
  ASSERT_EQ(ssl.size(), 32u);
  auto req = parse_client_hello(ssl);
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->ssl_request);
  EXPECT_FALSE(parse_client_hello(std::string(40, '\x01')));

  // An attribute length of 2^64 - 1 once wrapped the offset around and sent
  // the loop backwards for ever (found by tests/fuzz/fuzz_protocol): a client
  // could stall a worker thread with one login packet.
  std::string hostile = h.substr(0, h.size() - attrs.size() - 1);
  // key length 0, then a value length of 2^64 - 10: offset + 10 + length wraps back to the key length.
  std::string bad_attrs = std::string("\x00\xfe\xf6", 3) + std::string(7, '\xff') + "xyz";
  hostile.push_back(static_cast<char>(bad_attrs.size()));
  hostile += bad_attrs;
  auto parsed = parse_client_hello(hostile);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->program_name, "");
}

TEST(MysqlPacket, ErrPacket) {
  auto e = encode_err(3, 2003, "HY000", "switchyard: cannot connect");
  EXPECT_EQ(payload_length(e.data()), e.size() - 4);
  EXPECT_EQ(sequence_id(e.data()), 3);
  EXPECT_EQ(static_cast<uint8_t>(e[4]), 0xff);
  EXPECT_EQ(e.substr(7, 6), "#HY000");
}
