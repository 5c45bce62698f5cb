#pragma once
// Reaching a target: resolve, TCP connect and (optionally) TLS, under one
// deadline. Shared by the PostgreSQL and MySQL sessions; the protocol-specific
// TLS negotiation (SSLRequest packets) stays in each session.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "config/config.h"
#include "proxy/net/conn.h"

namespace sy::proxy {

//! Connects `conn`'s socket to `target`; returns an error text, empty on success.
//! The socket is closed if `timeout` passes first.
asio::awaitable<std::string> connect_tcp(Conn& conn, const config::Endpoint& target, std::chrono::milliseconds timeout);

//! TLS client handshake to `target` per its tls settings (SNI for names,
//! hostname check for verify-full); returns an error text, empty on success.
asio::awaitable<std::string> start_target_tls(Conn& conn, asio::ssl::context& ctx, const config::Target& target);

}  // namespace sy::proxy
