#pragma once
// Typed encoders/decoders for the few PostgreSQL messages the proxy reads or
// writes itself. Everything else is relayed as opaque bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/pg/startup.h"

namespace sy::pg {

// Backend message types the proxy looks at.
inline constexpr char kAuthentication = 'R';
inline constexpr char kBackendKeyData = 'K';
inline constexpr char kReadyForQuery = 'Z';
inline constexpr char kErrorResponse = 'E';
// Frontend message types the proxy looks at.
inline constexpr char kQuery = 'Q';
inline constexpr char kParse = 'P';
inline constexpr char kTerminate = 'X';
inline constexpr char kExecute = 'E';

inline constexpr uint32_t kAuthSasl = 10;

// SQLSTATEs the proxy itself raises.
namespace sqlstate {
inline constexpr std::string_view kProtocolViolation = "08P01";
inline constexpr std::string_view kConnectionFailure = "08006";
inline constexpr std::string_view kCannotConnect = "08001";
inline constexpr std::string_view kTooManyConnections = "53300";
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kProgramLimitExceeded = "54000";
inline constexpr std::string_view kIdleInTransactionTimeout = "25P03";
inline constexpr std::string_view kIdleSessionTimeout = "57P05";
}  // namespace sqlstate

struct ErrorFields {
  std::string_view severity = "FATAL";
  std::string_view sqlstate;
  std::string_view message;
  std::string_view detail;
  std::string_view hint;
};

//! A complete ErrorResponse ('E') message.
std::string encode_error(const ErrorFields& f);

//! The body of a whole message of `type` (after the 5-byte header), if its
//! length field matches the buffer.
std::optional<std::string_view> message_body(std::string_view message, char type);

//! Reads BackendKeyData from a whole 'K' message (header included).
std::optional<CancelKey> decode_backend_key(std::string_view message);

//! Encodes a CancelRequest packet for `key`.
std::string encode_cancel_request(CancelKey key);

//! Authentication subtype of a whole 'R' message, if well formed.
std::optional<uint32_t> auth_code(std::string_view message);

//! Given a whole AuthenticationSASL message, returns it re-encoded without any
//! "-PLUS" (channel-binding) mechanism, or nullopt if there was none to remove.
//! The proxy terminates TLS, so the client's channel is never the server's and
//! tls-server-end-point binding would always fail.
std::optional<std::string> strip_channel_binding(std::string_view message);

}  // namespace sy::pg

namespace sy::pg {

//! The statement text of a whole Query or Parse message, and where it sits.
struct StatementText {
  std::string_view sql;     //!< without its NUL
  std::string_view prefix;  //!< bytes of the body before the text (Parse: statement name)
  std::string_view suffix;  //!< bytes after the text's NUL (Parse: parameter types)
};

//! nullopt if the message is malformed (no NUL where one must be).
std::optional<StatementText> statement_text(std::string_view message);

//! Re-encodes a Query or Parse message with `sql` in place of its text.
std::string with_statement_text(char type, const StatementText& parts, std::string_view sql);

}  // namespace sy::pg
