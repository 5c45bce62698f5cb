#pragma once
// What OwnedPgConnection and OwnedMySqlConnection share: the target and
// options, the watched socket, one query at a time, and how errors read.
#include <boost/asio/any_io_executor.hpp>
#include <optional>
#include <string>

#include "config/config.h"
#include "proxy/backends/foreign_socket.h"
#include "proxy/backends/owned_result.h"

namespace sy::proxy {

class OwnedConnectionBase {
 protected:
  OwnedConnectionBase(boost::asio::any_io_executor ex, config::Target target, OwnedConnectionOptions options)
      : ex_(ex), target_(std::move(target)), options_(std::move(options)), socket_(ex) {}

  //! `target "x" at host:port: what`
  BackendError error(std::string what, std::string sqlstate = {}) const;
  //! Why a query cannot start now (one is in flight, or not `connected`).
  std::optional<BackendError> refuse_query(bool connected) const;
  std::string connect_timed_out() const;
  std::string query_timed_out() const;

  boost::asio::any_io_executor ex_;
  config::Target target_;
  OwnedConnectionOptions options_;
  ForeignSocket socket_;
  bool busy_ = false;  //!< an operation is in flight
};

}  // namespace sy::proxy
