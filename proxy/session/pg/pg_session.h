#pragma once
// One PostgreSQL client connection and its backend connection (session mode).
// The session is a coroutine that walks its stages in order (RelaySession):
// startup (TLS, the startup packet, the backend connection; pg_session.cpp),
// login (the server's authentication exchange relayed one message at a time;
// pg_login.cpp), then the relay loops (pg_relay.cpp) until either side ends.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "protocol/pg/startup.h"
#include "proxy/backends/owned_result.h"
#include "proxy/session/pg/pg_backend.h"
#include "proxy/session/relay_session.h"
#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

class OutputBatch;

class PgSession : public RelaySession {
 public:
  PgSession(tcp::socket client, SessionDeps deps);
  ~PgSession() override;

  //! Ends the session from outside (drain deadline): the client gets `sqlstate`
  //! and `message` if it is between messages. Thread-safe.
  void terminate(std::string sqlstate, std::string message) override;

 private:
  // Startup (pg_session.cpp)
  asio::awaitable<void> run() override;
  asio::awaitable<bool> read_startup(pg::StartupPacket& out, std::string& raw);
  asio::awaitable<bool> connect_backend(const config::Target& target);
  asio::awaitable<void> forward_cancel(pg::CancelKey key);
  //! Before the relay starts: sends an ErrorResponse and ends the session.
  asio::awaitable<void> refuse(std::string_view sqlstate, const std::string& message);

  // Login (pg_login.cpp)
  //! Relays the authentication exchange up to the server's first
  //! ReadyForQuery; false if the login failed or either side went away.
  asio::awaitable<bool> login();
  std::string target_login_timeout_error(const std::string& message) const override;

  // Relay (pg_relay.cpp)
  asio::awaitable<void> pump_frontend() override;
  asio::awaitable<void> pump_backend() override;
  //! During the relay: asks the backend loop to send this error at the next
  //! message boundary, then to close.
  void fail_session(std::string error_message);
  //! Runs a Query/Parse through the tenant's rewriter; adds what to send to `out`.
  void rewrite_message(std::string_view message, OutputBatch& out);
  //! Feed the request tracker the first piece of each message (tenant sessions).
  void track_client_message(std::string_view first_piece);
  void track_server_message(std::string_view first_piece);
  void log_tracking_lost();
  std::string session_key() const override;
  bool idle_between_requests() const override;
  bool idle_in_transaction() const override;
  void end_idle(bool in_transaction) override;

  // Shadow reads (pg_shadow_capture.cpp): what a sampled autocommit read
  // needs to run again off the client's path. Nothing here delays or alters
  // the client's own message.
  struct ShadowStatement {
    std::string original;                              //!< the client's Parse text
    std::shared_ptr<const rewrite::Decision> switched;  //!< its read-switch decision
    std::vector<uint32_t> types;                        //!< parameter types the Parse declared
    config::Phase phase;                                //!< the phase it was served in
  };
  //! Prepared statements kept per session, at most (more are not shadowed).
  static constexpr size_t kMaxShadowStatements = 256;
  //! Binds up to this size arrive whole for their parameters; longer ones stream through.
  static constexpr uint32_t kShadowBindLimit = 64 * 1024;
  //! A Query or Parse about to go out in `phase`, with the client's decision.
  void capture_read(std::string_view message, std::string_view sql, config::Phase phase,
                    const std::shared_ptr<const rewrite::Decision>& decision);
  //! A whole Bind: a sampled execution of a kept statement is shadowed with its parameters.
  void capture_bind(std::string_view message);
  //! The first piece of a Bind too large to keep.
  void capture_large_bind(std::string_view first_piece);
  void submit_shadow(std::string_view original, std::shared_ptr<const rewrite::Decision> switched,
                     config::Phase phase, PgParams params);
  std::unordered_map<std::string, ShadowStatement> shadow_statements_;

  PgBackend& server() { return static_cast<PgBackend&>(*primary_); }

};

}  // namespace sy::proxy
