#pragma once
// One connection to the flags store, whichever the target's protocol: an
// OwnedPgConnection or an OwnedMySqlConnection (non-blocking, on the control
// plane's io_context), with the parameter style StoreSql writes for it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/backends/owned_result.h"

namespace sy::proxy {
class OwnedPgConnection;
class OwnedMySqlConnection;
}  // namespace sy::proxy

namespace sy::proxy::fleet {

class StoreConnection {
 public:
  StoreConnection(boost::asio::any_io_executor ex, config::Protocol protocol, const config::Target& target,
                  OwnedConnectionOptions options);
  ~StoreConnection();

  //! Logs in (MySQL: in UTC, so timestamps read back as UTC); nullopt on success.
  boost::asio::awaitable<std::optional<BackendError>> connect();
  boost::asio::awaitable<QueryResult> query(std::string sql, std::vector<std::optional<std::string>> params = {});
  //! PostgreSQL: payloads of NOTIFYs to arrive before `deadline`; MySQL: sleeps until then.
  boost::asio::awaitable<std::optional<BackendError>> wait_notified(std::chrono::steady_clock::time_point deadline,
                                                                    bool& notified);
  bool usable() const;
  bool postgres() const { return pg_ != nullptr; }

 private:
  boost::asio::any_io_executor ex_;
  std::unique_ptr<OwnedPgConnection> pg_;
  std::unique_ptr<OwnedMySqlConnection> my_;
};

}  // namespace sy::proxy::fleet
