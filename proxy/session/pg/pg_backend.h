#pragma once
// A PostgreSQL server connection of a session: the socket and buffer of every
// Backend, plus the scanner that follows its message stream, and what the
// proxy learned from it at login (the cancel key) and since (whether a
// transaction is open, from ReadyForQuery).
#include <optional>

#include "protocol/pg/frame_scanner.h"
#include "protocol/pg/request_tracker.h"
#include "protocol/pg/startup.h"
#include "proxy/backends/backend.h"

namespace sy::proxy {

struct PgBackend : Backend {
  //! Auth and startup messages from the server are small; this bounds a hostile one.
  static constexpr uint32_t kMaxInspected = 1u << 20;
  static constexpr size_t kBuffer = 64 * 1024;

  PgBackend(const config::Target& t, const asio::any_io_executor& ex) : Backend(t, ex, kBuffer), scan(kMaxInspected) {}

  pg::FrameScanner scan;
  std::optional<pg::CancelKey> cancel_key;  //!< BackendKeyData, once logged in
  bool in_transaction = false;              //!< last ReadyForQuery said 'T' or 'E'
  bool channel_binding_passthrough = false;  //!< client and target show the same certificate
  //! Which reply answers which request, from the first ReadyForQuery on.
  //! Tenant sessions only (see pg_relay.cpp): a plain relay needs none, and
  //! an idle session should not carry its queue (a std::deque allocates
  //! half a KiB when it is made).
  std::optional<pg::RequestTracker> requests;
};

}  // namespace sy::proxy
