#pragma once
// MySQL/MariaDB client/server packets: a 3-byte little-endian payload length,
// a 1-byte sequence id, then the payload. A payload of exactly 0xFFFFFF bytes
// continues in the next packet (16 MiB continuation).
#include <cstdint>
#include <string>
#include <string_view>

namespace sy::mysql {

inline constexpr uint32_t kMaxPacketPayload = 0xFFFFFF;
inline constexpr size_t kHeaderSize = 4;

inline uint32_t payload_length(const char* header) {
  auto b = reinterpret_cast<const unsigned char*>(header);
  return uint32_t(b[0]) | (uint32_t(b[1]) << 8) | (uint32_t(b[2]) << 16);
}
inline uint8_t sequence_id(const char* header) { return static_cast<uint8_t>(header[3]); }

//! A whole packet with `seq` around `payload` (which must be < 16 MiB).
std::string encode_packet(uint8_t seq, std::string_view payload);

//! Rewrites the sequence id of a whole packet in place.
inline void set_sequence_id(std::string& packet, uint8_t seq) { packet[3] = static_cast<char>(seq); }

// Commands (first payload byte of a packet with sequence id 0).
inline constexpr uint8_t kComQuit = 0x01;
inline constexpr uint8_t kComInitDb = 0x02;
inline constexpr uint8_t kComQuery = 0x03;
inline constexpr uint8_t kComPing = 0x0e;
inline constexpr uint8_t kComChangeUser = 0x11;
inline constexpr uint8_t kComStmtPrepare = 0x16;
inline constexpr uint8_t kComStmtExecute = 0x17;
inline constexpr uint8_t kComFieldList = 0x04;
inline constexpr uint8_t kComStatistics = 0x09;
inline constexpr uint8_t kComStmtSendLongData = 0x18;
inline constexpr uint8_t kComStmtClose = 0x19;
inline constexpr uint8_t kComStmtFetch = 0x1c;
inline constexpr uint8_t kComStmtReset = 0x1a;
inline constexpr uint8_t kComResetConnection = 0x1f;

// Server status flags (OK and EOF packets).
inline constexpr uint16_t kServerStatusInTrans = 0x0001;
inline constexpr uint16_t kServerMoreResultsExist = 0x0008;
inline constexpr uint16_t kServerStatusCursorExists = 0x0040;

// Capability flags the proxy reads or changes.
inline constexpr uint32_t kClientConnectWithDb = 0x00000008;
inline constexpr uint32_t kClientCompress = 0x00000020;
inline constexpr uint32_t kClientProtocol41 = 0x00000200;
inline constexpr uint32_t kClientSsl = 0x00000800;
inline constexpr uint32_t kClientSecureConnection = 0x00008000;
inline constexpr uint32_t kClientPluginAuth = 0x00080000;
inline constexpr uint32_t kClientConnectAttrs = 0x00100000;
inline constexpr uint32_t kClientPluginAuthLenencData = 0x00200000;
inline constexpr uint32_t kClientDeprecateEof = 0x01000000;
inline constexpr uint32_t kClientZstdCompression = 0x04000000;
inline constexpr uint32_t kClientQueryAttributes = 0x08000000;

// Error codes the proxy raises itself (client-side codes, as libmysqlclient uses them).
// Error packets carry server-range codes only: libmariadb 3.3 (the mariadb
// CLI on Debian 12) rejects an ERR from a server with a client-range code
// (2000-2999, such as 2003 or 2013) as "malformed packet" (2027).
inline constexpr uint16_t kErConnectToForeignDataSource = 1429;  // "Unable to connect to foreign data source"
inline constexpr uint16_t kErNetPacketTooLarge = 1153;
inline constexpr uint16_t kErNetPacketsOutOfOrder = 1156;
inline constexpr uint16_t kErHandshake = 1043;           // bad handshake
inline constexpr uint16_t kErTooManyConnections = 1040;
inline constexpr uint16_t kErSecureTransportRequired = 3159;
inline constexpr uint16_t kErServerShutdown = 1053;
inline constexpr uint16_t kErNotSupportedAuthMode = 1251;  // client does not support the auth protocol
inline constexpr uint16_t kErNotSupportedYet = 1235;       // "This version doesn't yet support ..."

//! An ERR packet: 0xFF, code, '#', SQLSTATE, message.
std::string encode_err(uint8_t seq, uint16_t code, std::string_view sqlstate, std::string_view message);

}  // namespace sy::mysql
