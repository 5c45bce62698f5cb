#pragma once
// The connection phase: the server's HandshakeV10 greeting and the client's
// HandshakeResponse41 / SSLRequest. The proxy relays both but adjusts the
// capability flags (no compression, TLS per side) and reads the user,
// database and program name to bind the session to a tenant.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::mysql {

struct Greeting {
  uint32_t capabilities = 0;
  uint32_t connection_id = 0;  //!< the server's thread id: KILL needs the real one
  std::string server_version;
  std::string auth_plugin;
  std::string scramble;     //!< the 20-byte nonce (auth-plugin-data), NUL excluded
  size_t caps_low_at = 0;   //!< payload offsets of the two capability halves
  size_t caps_high_at = 0;  //!< 0 when the greeting has no upper half
};

//! Parses a greeting payload; nullopt if it is not a HandshakeV10.
std::optional<Greeting> parse_greeting(std::string_view payload);

//! Writes `caps` into a greeting payload at the offsets parse_greeting found.
void set_greeting_capabilities(std::string& payload, const Greeting& g, uint32_t caps);

struct ClientHello {
  uint32_t capabilities = 0;
  bool ssl_request = false;  //!< just the 32-byte SSLRequest, TLS comes next
  std::string user;
  std::string database;
  std::string auth_plugin;
  std::string program_name;  //!< connect attribute "program_name", if sent
};

//! Parses a HandshakeResponse41 (or SSLRequest) payload.
std::optional<ClientHello> parse_client_hello(std::string_view payload);

//! Replaces the capability flags (first 4 bytes) of a client hello payload.
void set_hello_capabilities(std::string& payload, uint32_t caps);

//! The SSLRequest the proxy sends to a server: the first 32 bytes of `hello`
//! with CLIENT_SSL set.
std::string ssl_request_from(std::string_view hello_payload);

inline constexpr std::string_view kCachingSha2Password = "caching_sha2_password";
inline constexpr size_t kScrambleLength = 20;  //!< the nonce the password plugins use

struct AuthSwitch {
  std::string plugin;  //!< empty for the pre-4.1 "old password" switch
  std::string data;    //!< the new nonce for the scramble-based plugins, NUL excluded
};

//! Parses an AuthSwitchRequest payload (0xFE, name, NUL, plugin data);
//! nullopt if the payload is not one.
std::optional<AuthSwitch> parse_auth_switch(std::string_view payload);

//! caching_sha2_password's AuthMoreData "perform full authentication" (0x01 0x04):
//! over TLS the client answers with its password in clear, without TLS it asks
//! for the server's RSA key.
bool is_sha2_full_auth_request(std::string_view payload);

}  // namespace sy::mysql
