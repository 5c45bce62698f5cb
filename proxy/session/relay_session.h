#pragma once
// What the PostgreSQL and MySQL sessions share: one client socket and its one
// writer, the backends the session talks to (the primary today), and the
// lifecycle around them: admission against max_client_connections, the login
// deadline, the phase latch, and crash containment at every co_spawn. Each
// protocol's session derives from it and supplies run(), which walks the
// stages below in order.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "proxy/backends/backend.h"
#include "proxy/net/byte_buffer.h"
#include "proxy/net/conn.h"
#include "proxy/net/socket_writer.h"
#include "proxy/net/task_group.h"
#include "proxy/net/tls.h"
#include "proxy/session/session.h"
#include "rewrite/sql_lexer.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/telemetry/tenant_stats.h"

namespace sy::proxy {

struct TenantState;

class RelaySession : public Session, public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(tcp::socket client, SessionDeps deps);
  ~RelaySession() override;

  //! Registers the session and runs it; an exception ends only this session.
  void start();

 protected:
  //! Where the session is. Only forward: Startup (TLS, the startup packet or
  //! client hello, the backend connection) -> Login (authentication relayed
  //! message by message) -> Relay (two loops, one per direction) -> Closing.
  enum class Stage { Startup, Login, Relay, Closing };

  //! The protocol's session: startup, login, then relay() until either side ends.
  virtual asio::awaitable<void> run() = 0;
  //! Client -> server and server -> client, once logged in. Returns when the
  //! session is over; both loops have ended by then.
  asio::awaitable<void> relay();
  virtual asio::awaitable<void> pump_frontend() = 0;
  virtual asio::awaitable<void> pump_backend() = 0;

  //! Counts the client against max_client_connections; false when over it
  //! (the caller refuses in its own protocol). Also arms the login deadline.
  bool admit();
  //! Ends the session if the client is not logged in within login_timeout_ms:
  //! silently when the client had the next word (as the server does), with
  //! target_login_timeout_error() when the target had it.
  void arm_login_deadline();
  //! The protocol's error for a login the target did not complete in time.
  virtual std::string target_login_timeout_error(const std::string& message) const = 0;
  //! Cancels the login deadline: the client is in.
  void logged_in();
  void close_both();
  //! Sends `bytes` (a refusal) after whatever is queued, then closes both sides.
  asio::awaitable<void> send_and_close(std::string bytes);
  //! The server side is over: close the server and let the client read what
  //! was already queued before its connection goes. A plain close could reset
  //! the connection (RST) and destroy the last packets in flight, such as the
  //! server's own "access denied"; so the writer finishes, then FIN, then the
  //! client gets a moment to read and hang up before the close.
  asio::awaitable<void> end_after_server();
  //! The client side is over (EOF, quit or error): nothing more to wait for.
  void end_after_client();
  void count_backend_error();

  // Idle timeouts (listener idle_in_transaction_session_timeout_ms and
  // idle_session_timeout_ms, both off by default). No timer is touched per
  // statement: each read of either side only stamps the time, and one timer
  // per session wakes at the earliest moment a timeout could be due, then
  // checks (a reset per statement would take the reactor's timer lock).
  //! Either timeout is set: the relay must know when the session is idle.
  bool idle_timeouts_on() const;
  //! Starts the session's idle watch (the relay calls it; nothing if both are 0).
  void watch_idle();
  //! Data moved on either side: the session is not idle since now.
  void note_activity() {
    if (idle_timer_) last_activity_ = std::chrono::steady_clock::now();
  }
  //! Every request answered and nothing in flight (false when the protocol's
  //! tracker lost its way: a session it cannot follow is never closed as idle).
  virtual bool idle_between_requests() const = 0;
  //! The server's last status said a transaction is open.
  virtual bool idle_in_transaction() const = 0;
  //! Ends the session for an idle timeout in the protocol's own way.
  virtual void end_idle(bool in_transaction) = 0;

  //! The bound tenant's phase for the next statement: its flags as in force
  //! now (re-read when the directory changed), with the canary applied to this
  //! session's sticky key. Off when no tenant is bound (or a reload removed it).
  config::Phase tenant_phase();
  //! The phase for the next statement: tenant_phase(), except that inside a
  //! transaction a later phase waits until it ends (an earlier one, a
  //! rollback, applies at once).
  config::Phase statement_phase(bool in_transaction);
  //! Binds the tenant that matches this session's login (or none).
  void bind_tenant(std::string_view database);
  //! The tenant's rewriter decides on `sql` through this worker's cache; the
  //! time since `started` is observed as statement_overhead, and as
  //! rewrite_duration too when the statement concerned a migration.
  std::shared_ptr<const rewrite::Decision> decide_timed(std::chrono::steady_clock::time_point started,
                                                        std::string_view sql, config::Phase phase, bool extended,
                                                        rewrite::Dialect dialect);
  //! What identifies this session for `sticky_by: session`.
  virtual std::string session_key() const = 0;
  //! Test builds only (SessionDeps::faults): throws where a test asked for it.
  void maybe_fault(const char* where);

  template <class Derived>
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(shared_from_this());
  }

  SessionDeps deps_;
  //! The listener's TLS contexts as they were when the session started: a
  //! certificate rotated meanwhile applies to the sessions that come after.
  std::shared_ptr<const ListenerTls> tls_;
  std::string client_addr_;
  Conn client_;
  ByteBuffer client_buf_;
  SocketWriter to_client_;  //!< the only writer of client_
  TaskGroup tasks_;         //!< every coroutine of this session
  Stage stage_ = Stage::Startup;
  std::unique_ptr<Backend> primary_;  //!< the primary target's connection, once connecting
  std::string pending_client_error_;  //!< whole error message to send the client before closing
  //! Set by the login loops while the target has the next word, so that a
  //! login deadline then blames the target, not the client.
  bool awaiting_target_ = false;
  bool frontend_done_ = false;        //!< the client side ended (EOF, quit or error)
  std::shared_ptr<const TenantState> tenant_;  //!< null: no tenant matched, pure relay
  //! The tenant's counters, resolved when it is bound and again when a reload
  //! changes the directory: no lock and no label string per statement.
  std::shared_ptr<const TenantStats> tenant_stats_;
  std::string tenant_name_;
  uint64_t tenant_version_ = 0;  //!< directory version tenant_ was read from
  config::Phase latched_phase_ = config::Phase::Off;  //!< phase of the current transaction
  std::string user_, application_name_;  //!< from the login, for matching and sticky keys
  std::string database_;                 //!< from the login (shadow reads connect there too)

 private:
  std::unique_ptr<asio::steady_timer> login_timer_;
  std::unique_ptr<asio::steady_timer> linger_timer_;
  std::unique_ptr<asio::steady_timer> idle_timer_;  //!< only when an idle timeout is set
  std::chrono::steady_clock::time_point last_activity_;
  void check_idle();
  std::optional<uint32_t> bucket_;  //!< canary bucket of this session's sticky key
  config::StickyBy bucket_sticky_by_ = config::StickyBy::Session;
  Counter* connections_gauge_ = nullptr;
  bool counted_ = false;
};

}  // namespace sy::proxy
