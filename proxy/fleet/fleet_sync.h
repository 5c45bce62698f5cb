#pragma once
// A sidecar's part in the fleet (SPEC "Fleet"): the flags store read and
// written on the control plane's io_context, never on a worker.
//
//   writes   PATCH (write) and guard trips (guard_tripped) lay their change on
//            the tenant's row and compare-and-set its version; the loser of a
//            race gets 409 (a guard retries). Then the change is applied
//            locally through TenantDirectory::apply, as without a store.
//   reads    run() polls every poll_ms; on PostgreSQL it also LISTENs on the
//            same connection, and writers NOTIFY in the writing transaction,
//            so the other sidecars usually apply within milliseconds.
//   down     the last applied flags stay; PATCH answers 503; notes() says so
//            (for /readyz); metrics flags_store_up 0; run() reconnects.
//   fleet    each poll writes this sidecar's heartbeat and reads everyone's.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/fleet/fleet_logic.h"
#include "proxy/fleet/store_sql.h"
#include "proxy/flags/flags_json.h"

namespace sy::proxy {
class Metrics;
class ShadowService;
class TenantDirectory;
}  // namespace sy::proxy

namespace sy::proxy::fleet {

class StoreConnection;

struct FleetDeps {
  std::shared_ptr<const config::Config> cfg;  //!< as loaded at start-up: flags_store needs a restart to change
  TenantDirectory* directory = nullptr;
  Metrics* metrics = nullptr;
  ShadowService* shadow = nullptr;  //!< guard states and counts for the heartbeat; an operator's change clears a guard
  std::string sidecar_id;           //!< the heartbeat row's key
};

struct WriteOutcome {
  int status = 200;                  //!< 200, 400, 404, 409, 422, 503
  std::string error;
  std::vector<std::string> details;  //!< 422: each broken rule; 200: warnings
  std::optional<StoreRow> current;   //!< 409: the row as the store holds it now (none: version 0)
  uint64_t version = 0;              //!< 200: the tenant's new version
};

class FleetSync {
 public:
  FleetSync(boost::asio::io_context& io, FleetDeps deps);
  ~FleetSync();

  //! Polls (and listens) until `stopping`; run once, on the control plane's io_context.
  boost::asio::awaitable<void> run(const std::atomic<bool>& stopping);

  //! A PATCH: `expected` is the If-Match version, else the version this
  //! sidecar applied (so a change made from a stale view is a 409).
  boost::asio::awaitable<WriteOutcome> write(std::string tenant, FlagChange change, std::string who, std::string why,
                                             std::optional<uint64_t> expected);

  //! A guard trip already applied locally: written to the store as soon as it
  //! answers, retried on conflict, so every sidecar rolls back.
  void guard_tripped(std::string tenant, FlagChange change, std::string why);

  //! GET /v1/tenants/{name}/history: status and body.
  boost::asio::awaitable<std::pair<int, std::string>> history(std::string tenant);

  //! GET /v1/fleet, from the last poll.
  std::string fleet_json() const;
  void write_fleet(JsonWriter& w) const;
  //! Reasons /readyz gives without failing (the store is down or not reached yet).
  std::vector<std::string> notes() const;
  //! The version of `tenant`'s row this sidecar applied (0: none).
  uint64_t applied_version(const std::string& tenant) const;
  const std::string& sidecar_id() const { return deps_.sidecar_id; }

  struct Snapshot {
    bool up = false;
    bool reached = false;  //!< answered at least once since start-up
    std::string error;
    uint64_t fleet_version = 0;
    uint64_t applied = 0;
    std::vector<SidecarView> sidecars;
  };
  Snapshot snapshot() const;

 private:
  std::unique_ptr<StoreConnection> make_connection() const;
  //! An idle writing connection, or a new one; null with `error` set when the store cannot be reached.
  boost::asio::awaitable<std::unique_ptr<StoreConnection>> writer(std::string& error);
  void give_back(std::unique_ptr<StoreConnection> c);
  boost::asio::awaitable<WriteOutcome> write_on(StoreConnection& c, const std::string& tenant, const FlagChange& change,
                                                const std::string& who, const std::string& why,
                                                std::optional<uint64_t> expected);
  boost::asio::awaitable<void> flush_guard_trips();
  boost::asio::awaitable<bool> poll_once(StoreConnection& c);
  void apply_rows(const std::vector<StoreRow>& rows);
  void rejected(const StoreRow& row, const std::string& why);
  std::string heartbeat_guard_json() const;
  void store_up();
  void store_down(const std::string& why);
  uint64_t applied_sum() const;

  boost::asio::io_context& io_;
  FleetDeps deps_;
  StoreSql sql_;
  std::unique_ptr<StoreConnection> idle_writer_;
  // All below: the control plane's thread only.
  std::map<std::string, uint64_t> applied_;  //!< tenant -> row version applied
  std::map<std::string, uint64_t> rejected_;  //!< tenant -> row version logged as not applicable
  struct GuardWrite {
    std::string tenant;
    FlagChange change;
    std::string why;
  };
  std::vector<GuardWrite> guard_writes_;  //!< trips not yet in the store
  bool flushing_ = false;
  bool up_ = false;
  bool reached_ = false;
  std::string down_error_;
  std::string down_since_;
  uint64_t fleet_version_ = 0;
  std::vector<SidecarRow> sidecars_;
};

}  // namespace sy::proxy::fleet
