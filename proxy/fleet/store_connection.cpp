#include "proxy/fleet/store_connection.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/backends/owned_mysql_connection.h"
#include "proxy/backends/owned_pg_connection.h"

namespace sy::proxy::fleet {

namespace asio = boost::asio;

StoreConnection::StoreConnection(asio::any_io_executor ex, config::Protocol protocol, const config::Target& target,
                                 OwnedConnectionOptions options)
    : ex_(ex) {
  options.application_name = "switchyard-flags";
  if (protocol == config::Protocol::Postgres) pg_ = std::make_unique<OwnedPgConnection>(ex, target, options);
  else my_ = std::make_unique<OwnedMySqlConnection>(ex, target, options);
}

StoreConnection::~StoreConnection() = default;

asio::awaitable<std::optional<BackendError>> StoreConnection::connect() {
  if (pg_) {
    auto e = co_await pg_->connect();
    if (e) co_return e;
    // A flag change is acknowledged only once it is durable, whatever the
    // server's default (a crash must not take back a rollback the fleet saw).
    auto r = co_await pg_->query("SET synchronous_commit TO on");
    co_return r.error;
  }
  auto e = co_await my_->connect();
  if (e) co_return e;
  auto r = co_await my_->query("SET time_zone = '+00:00'");
  co_return r.error;
}

asio::awaitable<QueryResult> StoreConnection::query(std::string sql, std::vector<std::optional<std::string>> params) {
  if (pg_) co_return co_await pg_->query(std::move(sql), std::move(params));
  co_return co_await my_->query(std::move(sql), std::move(params));
}

asio::awaitable<std::optional<BackendError>> StoreConnection::wait_notified(
    std::chrono::steady_clock::time_point deadline, bool& notified) {
  notified = false;
  if (pg_) {
    auto n = co_await pg_->notifications(deadline);
    notified = !n.payloads.empty();
    co_return n.error;
  }
  asio::steady_timer t(ex_);
  t.expires_at(deadline);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return std::nullopt;
}

bool StoreConnection::usable() const { return pg_ ? pg_->usable() : my_->usable(); }

}  // namespace sy::proxy::fleet
