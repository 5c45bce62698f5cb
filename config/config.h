#pragma once
// The configuration as plain structs. A Config is built once by the loader and
// then only read: the proxy shares it as shared_ptr<const Config> and swaps the
// whole snapshot on reload, so no reader ever sees a half-applied change.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::config {

enum class Protocol { Postgres, Mysql };
enum class ClientTlsMode { Disable, Prefer, Require };
enum class BackendTlsMode { Disable, Prefer, Require, VerifyFull };
enum class Phase { Off, Observe, DualWrite, ReadSwitch, Cleanup };
enum class StickyBy { Session, User, ClientAddress, ApplicationName };
enum class OnUnsupported { Forward, Reject };
enum class OnCritical { Rollback, Freeze };
enum class Unmapped { Keep, Copy, Null, Reject };
//! What a switched read shows for a unified value with no reverse entry.
enum class Unreversible { Legacy, Null };

//! Every phase, in rollout order.
inline constexpr Phase kPhases[] = {Phase::Off, Phase::Observe, Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup};
inline constexpr StickyBy kStickyBy[] = {StickyBy::Session, StickyBy::User, StickyBy::ClientAddress,
                                         StickyBy::ApplicationName};

const char* to_string(Phase p);
std::optional<Phase> parse_phase(const std::string& s);
const char* to_string(StickyBy s);
std::optional<StickyBy> parse_sticky_by(const std::string& s);
//! "off | observe | ...": what parse_phase and parse_sticky_by accept, for error messages.
std::string phase_names();
std::string sticky_by_names();

struct Endpoint {
  std::string host;   //!< literal address or name, resolved when connecting
  uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

struct ClientTls {
  ClientTlsMode mode = ClientTlsMode::Disable;  //!< what a client may or must negotiate
  std::string cert;                             //!< PEM certificate chain served to clients
  std::string key;                              //!< PEM private key
  bool operator==(const ClientTls&) const = default;
};

struct BackendTls {
  BackendTlsMode mode = BackendTlsMode::Disable;
  std::string ca;           //!< PEM CA bundle; required for verify-full
  std::string server_name;  //!< SNI and name checked by verify-full; defaults to the address host
  std::string cert;         //!< PEM client certificate chain presented to the server (with key), or none
  std::string key;          //!< its PEM private key
  bool operator==(const BackendTls&) const = default;
};

struct Target {
  std::string name;
  Endpoint address;
  BackendTls tls;
  std::string user;          //!< for proxy-initiated connections (shadow, verify, backfill)
  std::string password_env;  //!< environment variable holding that user's password
  std::string database;
  bool operator==(const Target&) const = default;
};

struct Listener {
  std::string name;
  Protocol protocol = Protocol::Postgres;
  Endpoint listen;
  ClientTls tls;
  std::vector<Target> targets;  //!< in file order
  std::string primary;          //!< target that receives writes and, by default, reads
  uint32_t max_message_bytes = 16u << 20;  //!< cap on a Query/Parse the proxy must read whole
  uint32_t connect_timeout_ms = 5000;      //!< backend connect + TLS handshake
  uint32_t login_timeout_ms = 60000;       //!< client connect to logged in (slow or idle logins are closed)
  uint32_t max_client_connections = 10000; //!< further clients get SQLSTATE 53300
  //! Opt-in, 0 = off: a logged-in client idle inside a transaction (or outside
  //! one) longer than this is closed, as PostgreSQL's settings of the same names.
  uint32_t idle_in_transaction_session_timeout_ms = 0;
  uint32_t idle_session_timeout_ms = 0;

  const Target* target(const std::string& n) const;
  const Target& primary_target() const { return *target(primary); }
  bool operator==(const Listener&) const = default;
};

struct Admin {
  std::optional<Endpoint> listen;  //!< admin HTTP API; absent = disabled
  std::string token_env;           //!< env var with the bearer token for mutations
};

struct TenantMatch {
  std::string listener, database, user, application_name;  //!< empty = any

  bool matches(const std::string& l, std::string_view db, std::string_view u, std::string_view app) const {
    return (listener.empty() || listener == l) && (database.empty() || database == db) &&
           (user.empty() || user == u) && (application_name.empty() || application_name == app);
  }
  bool operator==(const TenantMatch&) const = default;
};

struct Canary {
  std::optional<Phase> phase;
  std::string read_target;
  double percent = 0;  //!< 0..100 in steps of 0.01
  StickyBy sticky_by = StickyBy::Session;
  bool operator==(const Canary&) const = default;
};

struct Shadow {
  //! Where the read is answered a second time: empty (or the listener's
  //! primary) compares the legacy and the switched form on the primary, in
  //! one snapshot; another target runs the served form there too.
  std::string target;
  double sample_percent = 0;
  std::string compare = "auto";
  std::vector<std::string> ignore_columns;
  uint32_t timeout_ms = 2000;
  uint32_t max_inflight = 64;
  bool log_parameters = false;  //!< STATUS_MISMATCH and /v1/mismatches show parameter values
  bool operator==(const Shadow&) const = default;
};

struct Guard {
  double warn_mismatch_rate = 0.01;
  double critical_mismatch_rate = 0.03;
  uint32_t min_samples = 200;
  OnCritical on_critical = OnCritical::Rollback;
  bool operator==(const Guard&) const = default;
};

struct Tenant {
  std::string name;
  TenantMatch match;
  Phase phase = Phase::Off;
  Canary canary;
  std::string read_target;  //!< empty = the listener's primary
  std::optional<Shadow> shadow;
  Guard guard;
  OnUnsupported on_unsupported = OnUnsupported::Forward;
  std::vector<std::string> migrations;
  bool operator==(const Tenant&) const = default;
};

struct Migration {
  std::string name;
  std::string schema;  //!< empty = unqualified
  std::string table;
  std::string legacy_column;
  std::string unified_column;
  //! The column whose literal in `WHERE <column> = <literal>` is reported as
  //! an event's entity_id (the row a write pins); as stored, like the others.
  std::string entity_column = "id";
  std::vector<std::pair<std::string, std::string>> map;      //!< legacy -> unified, file order
  std::vector<std::pair<std::string, std::string>> reverse;  //!< unified -> legacy overrides
  Unmapped unmapped = Unmapped::Keep;
  Unreversible unreversible = Unreversible::Legacy;
  std::vector<std::vector<std::string>> transitions;
  std::vector<std::string> terminal;
  bool operator==(const Migration&) const = default;
};

struct Runtime {
  uint32_t workers = 0;              //!< I/O threads; 0 = one per core
  uint32_t drain_timeout_ms = 30000; //!< on SIGTERM, how long sessions may finish
  std::string log_level = "info";
  //! Clients across all listeners; 0 = only each listener's own limit.
  uint32_t max_client_connections = 0;
};

//! Where a fleet of sidecars keeps its shared flags (SPEC "Fleet"): tables
//! named after `table` in the database of the target named `target`.
struct FlagsStore {
  std::string target;                   //!< a target of some listener (its user and password_env log in)
  std::string table = "switchyard_flags";  //!< also names <table>_history and <table>_sidecars
  uint32_t poll_ms = 1000;              //!< how often each sidecar reads the store
  bool operator==(const FlagsStore&) const = default;
};

struct Config {
  std::string source;  //!< file it was loaded from
  std::vector<Listener> listeners;
  Admin admin;
  std::string state_file;
  std::optional<FlagsStore> flags_store;  //!< absent: flags are per process (state_file)
  std::vector<Tenant> tenants;
  std::vector<Migration> migrations;
  Runtime runtime;

  const Listener* listener(const std::string& name) const;
  const Migration* migration(const std::string& name) const;
  //! The listener whose targets hold flags_store.target (the first), or null.
  const Listener* flags_store_listener() const;
};

//! A setting of `t` that this build accepts but does not (fully) apply.
struct Unapplied {
  const char* key;      //!< the tenant key it is about: phase, canary or shadow
  std::string message;
};
//! Said out loud by check-config, in the log, and in a PATCH answer, so that
//! nobody reads silence as "reads are switched".
std::vector<Unapplied> unapplied_settings(const Tenant& t);

}  // namespace sy::config
