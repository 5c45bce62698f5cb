#pragma once
// What the PostgreSQL and MySQL sessions share: one client socket, one server
// connection, their read buffers, and the lifecycle around them (admission
// against max_client_connections, the login deadline, crash containment at
// the coroutine boundary, and the counters). Each protocol's session derives
// from it and supplies run().
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "proxy/net/byte_buffer.h"
#include "proxy/net/conn.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/session/session.h"

namespace sy::proxy {

struct TenantState;

class RelaySession : public Session, public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(tcp::socket client, SessionDeps deps, size_t server_buffer);
  ~RelaySession() override;

  //! Registers the session and runs it; an exception ends only this session.
  void start();

 protected:
  virtual asio::awaitable<void> run() = 0;

  //! Counts the client against max_client_connections; false when over it
  //! (the caller refuses in its own protocol). Also arms the login deadline.
  bool admit();
  //! Cancels the login deadline: the client is in.
  void logged_in();
  void close_both();
  //! The server side is over: close the server and let the client read what
  //! was already sent before its connection goes. A plain close could reset
  //! the connection (RST) and destroy the last packets in flight, such as the
  //! server's own "access denied"; so send FIN, give the client a moment to
  //! read and hang up, then close.
  void end_after_server();
  //! The client side is over (EOF, quit or error): nothing more to wait for.
  void end_after_client();
  void count_backend_error();

  //! The bound tenant's phase for the next statement: its flags as in force
  //! now (re-read when the directory changed), with the canary applied to this
  //! session's sticky key. Off when no tenant is bound (or a reload removed it).
  config::Phase tenant_phase();
  //! The phase for the next statement: tenant_phase(), except that inside a
  //! transaction a later phase waits until it ends (an earlier one, a
  //! rollback, applies at once).
  config::Phase statement_phase(bool in_transaction);
  //! What identifies this session for `sticky_by: session`.
  virtual std::string session_key() const = 0;

  template <class Derived>
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(shared_from_this());
  }

  SessionDeps deps_;
  std::string client_addr_;
  Conn client_;
  std::unique_ptr<Conn> server_;
  const config::Target* target_ = nullptr;
  ByteBuffer client_buf_;
  ByteBuffer server_buf_;
  std::string pending_client_error_;  //!< whole error message to send the client before closing
  bool frontend_done_ = false;        //!< the client side ended (EOF, quit or error)
  std::shared_ptr<const TenantState> tenant_;  //!< null: no tenant matched, pure relay
  std::string tenant_name_;
  uint64_t tenant_version_ = 0;  //!< directory version tenant_ was read from
  config::Phase latched_phase_ = config::Phase::Off;  //!< phase of the current transaction
  std::string user_, application_name_;  //!< from the login, for matching and sticky keys

 private:
  std::unique_ptr<asio::steady_timer> login_timer_;
  std::unique_ptr<asio::steady_timer> linger_timer_;
  std::optional<uint32_t> bucket_;  //!< canary bucket of this session's sticky key
  config::StickyBy bucket_sticky_by_ = config::StickyBy::Session;
  Counter* connections_gauge_ = nullptr;
  bool counted_ = false;
};

}  // namespace sy::proxy
