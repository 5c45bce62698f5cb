#pragma once
// A MySQL/MariaDB server connection of a session: the socket and buffer of
// every Backend, plus the scanner that follows its packets and the tracker
// that pairs each command with its reply (and reads whether a transaction is
// open from the status flags).
#include "protocol/mysql/packet_scanner.h"
#include "protocol/mysql/response_tracker.h"
#include "proxy/backends/backend.h"

namespace sy::proxy {

struct MySqlBackend : Backend {
  //! Handshake packets are small; this bounds a hostile one.
  static constexpr uint32_t kMaxHandshakePacket = 1u << 20;
  static constexpr size_t kBuffer = 64 * 1024;

  MySqlBackend(const config::Target& t, const asio::any_io_executor& ex)
      : Backend(t, ex, kBuffer), scan(kMaxHandshakePacket) {}

  mysql::PacketScanner scan;
  //! Replaced at login, once both sides' DEPRECATE_EOF capability is known.
  mysql::ResponseTracker tracker{false};
};

}  // namespace sy::proxy
