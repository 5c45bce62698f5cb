#include "proxy/backends/target_probe.h"

#include "protocol/pg/startup.h"
#include "proxy/backends/backend_connect.h"
#include "proxy/net/conn.h"

namespace sy::proxy {

asio::awaitable<std::string> probe_target(asio::any_io_executor ex, config::Protocol protocol,
                                          const config::Target& target, std::chrono::milliseconds timeout) {
  tcp::socket sock(ex);
  Conn conn(std::move(sock));
  ConnectDeadline deadline(conn, timeout);
  auto failed = co_await connect_tcp(conn, target.address, deadline);
  if (!failed.empty()) co_return failed;
  error_code ec;
  if (protocol == config::Protocol::Postgres) {
    auto request = pg::encode_gssenc_request();
    co_await conn.write(asio::buffer(request), ec);
  }
  char first = 0;
  if (!ec) co_await conn.read_some(asio::buffer(&first, 1), ec);
  conn.close();
  if (deadline.expired())
    co_return "no answer within " + std::to_string(timeout.count()) + " ms of connecting";
  if (ec) co_return "closed the connection without answering: " + ec.message();
  co_return std::string();
}

}  // namespace sy::proxy
