#pragma once
// One PostgreSQL client connection and its 1:1 backend connection (session
// mode). The session is a coroutine: startup and authentication, then two
// relay loops, client->server and server->client, until either side ends.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "protocol/pg/frame_scanner.h"
#include "protocol/pg/startup.h"
#include "proxy/net/byte_buffer.h"
#include "proxy/net/conn.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/session/relay_session.h"
#include "rewrite/decision.h"

namespace sy::proxy {

struct TenantState;

class PgSession : public RelaySession {
 public:
  PgSession(tcp::socket client, SessionDeps deps);
  ~PgSession() override;

  //! Ends the session from outside (drain deadline): the client gets `sqlstate`
  //! and `message` if it is between messages. Thread-safe.
  void terminate(std::string sqlstate, std::string message) override;

 private:
  asio::awaitable<void> run() override;
  asio::awaitable<bool> read_startup(pg::StartupPacket& out, std::string& raw);
  asio::awaitable<bool> connect_backend(const config::Target& target);
  asio::awaitable<void> forward_cancel(pg::CancelKey key);
  asio::awaitable<void> pump_frontend();
  asio::awaitable<void> pump_backend();
  //! Before the relay starts: sends an ErrorResponse and ends the session.
  asio::awaitable<void> refuse(std::string_view sqlstate, const std::string& message);
  //! During the relay: asks the backend loop (sole writer to the client) to
  //! send this error at the next message boundary, then to close.
  void fail_session(std::string error_message);
  //! Runs a Query/Parse through the tenant's rewriter; adds what to send to `out`.
  void rewrite_message(std::string_view message, class OutputBatch& out);
  //! The phase for the next statement: the tenant's flags (and canary) as in
  //! force now, except inside a transaction, which keeps the phase it began with.
  std::string session_key() const override;

  pg::FrameScanner server_scan_;
  std::optional<pg::CancelKey> cancel_key_;
  bool channel_binding_passthrough_ = false;  //!< client and target show the same certificate
  bool in_transaction_ = false;       //!< last ReadyForQuery said 'T' or 'E'
  Counter* simple_statements_ = nullptr;
  Counter* extended_statements_ = nullptr;
};

}  // namespace sy::proxy
