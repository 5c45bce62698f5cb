#pragma once
// Reaching a target: resolve, TCP connect and (optionally) TLS, under one
// deadline. Shared by the PostgreSQL and MySQL sessions and the readiness
// probe; the protocol-specific TLS negotiation (SSLRequest packets) stays in
// each session, under the same ConnectDeadline.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "config/config.h"
#include "proxy/net/conn.h"

namespace sy::proxy {

//! connect_timeout_ms for one connection: when it passes before cancel() (or
//! destruction), `conn` is closed, so whichever step is pending (the lookup,
//! the connect, a read of the server's first bytes, the TLS handshake) fails,
//! and expired() tells the caller why.
class ConnectDeadline {
 public:
  ConnectDeadline(Conn& conn, std::chrono::milliseconds timeout);
  ~ConnectDeadline();
  ConnectDeadline(const ConnectDeadline&) = delete;
  ConnectDeadline& operator=(const ConnectDeadline&) = delete;

  void cancel();
  bool expired() const { return state_->expired; }
  std::chrono::steady_clock::time_point at() const { return at_; }
  //! "timed out after N ms (connect_timeout_ms)"
  std::string message() const;
  //! message() if the deadline passed, else `error`.
  std::string explain(std::string error) const { return expired() ? message() : std::move(error); }

 private:
  // Shared with the timer's handler, which may run after this is gone (a
  // handler already queued is not stopped by cancelling its timer).
  struct State {
    bool expired = false;
    bool cancelled = false;
  };
  std::shared_ptr<State> state_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point at_;
  asio::steady_timer timer_;
};

//! Connects `conn`'s socket to `target` (every address its name resolves to,
//! in turn); returns an error text, empty on success. The lookup is raced
//! against `deadline` too: a resolver that hangs cannot hold the session.
asio::awaitable<std::string> connect_tcp(Conn& conn, const config::Endpoint& target, const ConnectDeadline& deadline);

//! TLS client handshake to `target` per its tls settings (SNI for names,
//! hostname check for verify-full); returns an error text, empty on success.
asio::awaitable<std::string> start_target_tls(Conn& conn, asio::ssl::context& ctx, const config::Target& target);

}  // namespace sy::proxy
