#pragma once
// One PostgreSQL client connection and its backend connection (session mode).
// The session is a coroutine that walks its stages in order (RelaySession):
// startup (TLS, the startup packet, the backend connection; pg_session.cpp),
// login (the server's authentication exchange relayed one message at a time;
// pg_login.cpp), then the relay loops (pg_relay.cpp) until either side ends.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <span>
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
struct ShadowRequest;

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
  //! The tracker's placing of the message (role Lost once it stopped following).
  pg::Reply track_server_message(std::string_view first_piece);
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
  //! Where the client's own answer to a shadowed read will come from: the
  //! Query just sent, or the next Execute of `portal` after a Bind.
  struct AnswerSource {
    bool query = true;
    std::string portal;
    bool text_results = true;  //!< a Bind that asked for any binary result column: not kept
  };
  void submit_shadow(std::string_view original, std::shared_ptr<const rewrite::Decision> switched,
                     config::Phase phase, PgParams params, AnswerSource source);
  std::unordered_map<std::string, ShadowStatement> shadow_statements_;

  // The client's answer to one sampled read shadowed on another target, kept
  // as it streams by (at most kMaxKeptAnswer bytes of rows) so the shadow
  // need not read the primary again; one at a time per session.
  struct KeptAnswer;
  static constexpr uint32_t kMaxKeptAnswer = 60 * 1024;  // a whole DataRow fits the 64 KiB buffer
  void keep_answer(ShadowRequest request, AnswerSource source);
  //! A client request went out: the Execute that the kept answer waits for, or one that makes it moot.
  void answer_request_sent(const pg::Request& request, std::span<const pg::Request> finished);
  //! A server message: rows and tag of the kept answer; the shadow is handed over once it is complete.
  void answer_reply(const pg::Reply& reply, std::string_view message, bool whole);
  //! How the keeping ends: the shadow is handed over with the answer, or
  //! without it (it reads the primary), or dropped (the client's read failed
  //! or the server discarded it).
  enum class KeepEnd { Kept, ReadAgain, Dropped };
  void end_keeping(KeepEnd how);
  std::unique_ptr<KeptAnswer> kept_answer_;
  pg::RequestId last_request_ = 0;  //!< the tracker's id of the latest request sent

  PgBackend& server() { return static_cast<PgBackend&>(*primary_); }

};

}  // namespace sy::proxy
