#pragma once
// One MySQL/MariaDB client connection and its backend connection. The
// session walks its stages in order (RelaySession). Startup
// (mysql_session.cpp): the server speaks first, so the session connects
// before it greets the client, relays the server's own greeting (its
// connection id stays the client's, so KILL from another connection works),
// adjusts capabilities (no compression, TLS per side) and passes the client's
// login on. Login (mysql_login.cpp): the authentication exchange, relayed
// untouched except where caching_sha2 needs bridging across one-sided TLS.
// Relay (mysql_relay.cpp): two loops like the PostgreSQL session's, rewriting
// COM_QUERY and COM_STMT_PREPARE.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "proxy/net/byte_buffer.h"
#include "proxy/net/conn.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/session/mysql/mysql_backend.h"
#include "proxy/session/relay_session.h"

namespace sy::proxy {

struct TenantState;
class OutputBatch;

class MySqlSession : public RelaySession {
 public:
  MySqlSession(tcp::socket client, SessionDeps deps);
  ~MySqlSession() override { wipe_bridged_password(); }  // a login cut short may still hold one

  void terminate(std::string code, std::string message) override;

 private:
  asio::awaitable<void> run() override;
  //! Reads one whole packet (header included) from `conn` into `out`.
  asio::awaitable<bool> read_packet(Conn& conn, ByteBuffer& buf, std::string& out, uint32_t limit);
  asio::awaitable<void> refuse(uint8_t seq, uint16_t code, std::string_view sqlstate, const std::string& message);
  //! Relays the authentication exchange up to the server's OK; false if the
  //! login failed or either side went away (mysql_login.cpp).
  asio::awaitable<bool> login();
  std::string target_login_timeout_error(const std::string& message) const override;
  asio::awaitable<void> pump_frontend() override;
  asio::awaitable<void> pump_backend() override;
  void rewrite_packet(std::string_view packet, OutputBatch& out);
  asio::awaitable<bool> bridge_sha2_answer(std::string packet);
  asio::awaitable<bool> send_bridged_password(std::string_view pem, uint8_t server_seq);
  void wipe_bridged_password();
  void refuse_bridged_login(uint8_t seq, std::string_view reason, const std::string& message);
  std::string session_key() const override { return client_addr_; }
  bool idle_between_requests() const override;
  bool idle_in_transaction() const override;
  void end_idle(bool in_transaction) override;

  MySqlBackend& server() { return static_cast<MySqlBackend&>(*primary_); }

  //! Sequence id the client expects next during the login (an error then
  //! carries it): one past the client's last packet.
  uint8_t login_reply_seq_ = 2;
  int seq_offset_ = 0;  //!< server-side minus client-side sequence ids during authentication
  std::string auth_plugin_;  //!< the plugin the login is using, followed through AuthSwitchRequests
  std::string nonce_;        //!< the login's scramble: the greeting's, or the last AuthSwitchRequest's
  //! caching_sha2_password full authentication across TLS on one side only.
  //! Plaintext client: switchyard answers its key request (KeyOrPassword) and
  //! decrypts its password (Password). TLS client: switchyard takes its clear
  //! password (ClientPassword), asks the server for its key (ServerKey) and
  //! sends the password encrypted with it.
  enum class Sha2Bridge { Off, KeyOrPassword, Password, ClientPassword, ServerKey } sha2_bridge_ = Sha2Bridge::Off;
  std::string bridged_password_;  //!< held between ClientPassword and ServerKey, then wiped
  bool accept_multi_packet_statement(std::string_view first);
  std::string deferred_client_error_;  //!< a refusal to send once the replies before it are out
};

}  // namespace sy::proxy
