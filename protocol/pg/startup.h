#pragma once
// The untyped first packet a PostgreSQL client sends: StartupMessage,
// SSLRequest, GSSENCRequest or CancelRequest.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::pg {

//! Hard cap on the first packet, as the server itself enforces: bigger is an attack.
inline constexpr uint32_t kMaxStartupPacket = 10000;
inline constexpr uint32_t kProtocol3 = 196608;  // 3.0
inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kCancelRequestCode = 80877102;

enum class StartupKind { Startup, SslRequest, GssEncRequest, CancelRequest };

struct CancelKey {
  uint32_t pid = 0;
  uint32_t secret = 0;
  bool operator==(const CancelKey&) const = default;
};

struct StartupPacket {
  StartupKind kind = StartupKind::Startup;
  uint32_t protocol = 0;
  std::vector<std::pair<std::string, std::string>> params;  //!< in wire order
  CancelKey cancel;                                         //!< only for CancelRequest

  //! Value of a startup parameter, or empty if absent.
  std::string_view param(std::string_view key) const;
};

enum class DecodeStatus { Ok, NeedMore, Error };

struct StartupDecode {
  DecodeStatus status = DecodeStatus::NeedMore;
  size_t consumed = 0;  //!< bytes of the packet, valid when Ok
  StartupPacket packet;
  std::string error;  //!< human-readable reason, when Error
};

//! Decodes one startup-phase packet from the front of `in`. Never reads past `in`.
StartupDecode decode_startup(std::string_view in);

//! Re-encodes a StartupMessage (used when the proxy must alter parameters).
std::string encode_startup(const StartupPacket& p);

std::string encode_ssl_request();
//! GSSENCRequest: the server answers one byte ('N', 'G') and nothing else.
std::string encode_gssenc_request();

}  // namespace sy::pg
