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
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

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
  //! A sampled autocommit COM_QUERY read the switch touches goes to the
  //! worker's shadow runner (mysql_shadow_capture.cpp). Never waits.
  void capture_read(std::string_view sql, config::Phase phase,
                    const std::shared_ptr<const rewrite::Decision>& decision);
  //! The client left its login database: its reads are no longer shadowed.
  bool shadow_database_moved_ = false;

  // ---- shadow reads of prepared statements (mysql_shadow_capture.cpp) ----
  //! A prepared read the switch touches, by the server's statement id.
  struct ShadowStatement {
    std::string sql;  //!< as the client prepared it
    std::shared_ptr<const rewrite::Decision> switched;
    config::Phase phase;  //!< the phase it was prepared in (what the server holds)
    uint16_t params = 0;
    std::vector<uint16_t> types;  //!< bound by the last execute that sent them
    bool long_data = false;       //!< COM_STMT_SEND_LONG_DATA since the last execute
  };
  //! Prepared statements kept per session, at most (more are not shadowed).
  static constexpr size_t kMaxShadowStatements = 256;
  //! COM_STMT_EXECUTE packets up to this size are read whole for their parameters.
  static constexpr uint32_t kShadowExecuteLimit = 64 * 1024;
  //! COM_QUERY/COM_STMT_PREPARE's part: what the PREPARE the session is
  //! about to send would be kept as (taken by note_prepare_sent).
  void capture_prepare(std::string_view sql, config::Phase phase,
                       const std::shared_ptr<const rewrite::Decision>& decision);
  //! A COM_STMT_PREPARE went to the server (every one, in order, while prepares are followed).
  void note_prepare_sent();
  //! The server answered one (ResponseTracker::take_prepare_reply).
  void note_prepare_reply(bool ok, uint32_t statement_id, uint16_t params);
  //! Any other client command (its first piece): close, reset, long data, execute.
  void note_command(uint8_t cmd, std::string_view first_piece, bool whole);
  void capture_execute(std::string_view payload, bool whole);
  void stop_following_prepares();
  //! Prepares are paired with their answers from a moment no command was
  //! outstanding; false again for good once the tracker lost its way.
  bool following_prepares_ = false;
  bool prepares_lost_ = false;
  std::optional<ShadowStatement> next_prepare_;  //!< capture_prepare's, for note_prepare_sent
  std::deque<std::optional<ShadowStatement>> prepares_sent_;
  std::unordered_map<uint32_t, ShadowStatement> shadow_statements_;
  uint32_t last_prepared_id_ = 0;
  std::string deferred_client_error_;  //!< a refusal to send once the replies before it are out
};

}  // namespace sy::proxy
