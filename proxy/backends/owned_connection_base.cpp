#include "proxy/backends/owned_connection_base.h"

#include "proxy/backends/target_login.h"

namespace sy::proxy {

BackendError OwnedConnectionBase::error(std::string what, std::string sqlstate) const {
  return BackendError{describe_target(target_) + ": " + what, std::move(sqlstate), false};
}

std::optional<BackendError> OwnedConnectionBase::refuse_query(bool connected) const {
  if (busy_) return error("a query is already running on this connection");
  if (connected) return std::nullopt;
  auto e = error("not connected");
  e.connection_lost = true;
  return e;
}

std::string OwnedConnectionBase::connect_timed_out() const {
  return "connect timed out after " + std::to_string(options_.connect_timeout.count()) + " ms";
}

std::string OwnedConnectionBase::query_timed_out() const {
  return "query timed out after " + std::to_string(options_.query_timeout.count()) + " ms; connection closed";
}

}  // namespace sy::proxy
