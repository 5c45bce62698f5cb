#pragma once
// Whether a target answers, for /readyz: resolve (raced against the
// deadline), TCP connect, then the server's first bytes. A server that
// accepts connections but never speaks (hung, or the wrong service on the
// port) is as unready as one that refuses them.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "config/config.h"

namespace sy::proxy {

//! Empty when `target` answered within `timeout`, else why not. MySQL
//! servers speak first (their greeting); a PostgreSQL server is sent a
//! GSSENCRequest, which it answers with one byte and, when the client then
//! leaves, without a line in its log (an SSLRequest answered 'S' would log
//! a failed TLS handshake at every probe).
boost::asio::awaitable<std::string> probe_target(boost::asio::any_io_executor ex, config::Protocol protocol,
                                                 const config::Target& target, std::chrono::milliseconds timeout);

}  // namespace sy::proxy
