#pragma once
// One server connection of a session: the target it reaches, its socket, and
// what has been read from it but not yet relayed. A session owns its primary
// backend today and may own several (a read target, a shadow); each
// protocol's session extends it with that protocol's state, the scanner and
// trackers that follow the stream (PgBackend, MySqlBackend).
#include <boost/asio/any_io_executor.hpp>

#include "config/config.h"
#include "proxy/net/byte_buffer.h"
#include "proxy/net/conn.h"

namespace sy::proxy {

struct Backend {
  Backend(const config::Target& t, const asio::any_io_executor& ex, size_t buffer)
      : target(t), conn(tcp::socket(ex)), buf(buffer) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const config::Target& target;
  Conn conn;
  ByteBuffer buf;
};

}  // namespace sy::proxy
