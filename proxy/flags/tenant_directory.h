#pragma once
// The tenants as they are in force right now: the config file's tenants with
// runtime flag changes (admin API, persisted in state_file) laid over them.
//
// Readers get an immutable Directory snapshot; writers (reload, PATCH) build
// a new one under a mutex and publish it atomically, bumping a version number
// so a session can tell with one relaxed load whether to look again.
//
// Precedence: a runtime change wins over the file until the file itself
// changes that same setting; then the file wins and the runtime change is
// dropped (so "the last change wins", whoever made it).
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proxy/flags/flag_change.h"
#include "proxy/flags/flags_json.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

class Metrics;

struct TenantState {
  config::Tenant cfg;  //!< effective settings: file + overrides
  std::shared_ptr<rewrite::TenantRewriter> rewriter;
  TenantOverrides overrides;  //!< which settings came from the API
};

struct Directory {
  std::shared_ptr<const config::Config> config;  //!< the file as last loaded
  std::vector<std::shared_ptr<const TenantState>> tenants;  //!< file order
  uint64_t version = 0;

  std::shared_ptr<const TenantState> find(std::string_view name) const;
  //! First tenant whose match fits a session, or null.
  std::shared_ptr<const TenantState> bind(const std::string& listener, std::string_view database,
                                          std::string_view user, std::string_view application_name) const;
};

class TenantDirectory {
 public:
  //! Loads state_file (if configured and present) on top of `cfg`.
  TenantDirectory(std::shared_ptr<const config::Config> cfg, Metrics* metrics);

  std::shared_ptr<const Directory> current() const { return current_.load(); }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  //! Takes a newly loaded file. Listener, admin and runtime.workers changes
  //! need a restart and are reported in `details`, not applied.
  ChangeResult reload(std::shared_ptr<const config::Config> next, const std::string& who);

  //! Applies a change to one tenant (the admin API's PATCH, a guard) if the
  //! tenant it produces passes config/tenant_rules, and persists it to
  //! state_file first: a change that could not be saved is not made. See
  //! lay_change for the statuses; 404 for an unknown tenant, 500 when
  //! state_file cannot be written. On success `details` holds warnings.
  ChangeResult apply(const std::string& tenant, const FlagChange& change, const std::string& who);

  //! GET /v1/tenants body; with `only`, the same shape holding that tenant alone.
  std::string tenants_json(std::string_view only = {}) const;
  //! The members of that body ("version", "tenants"), into an open object.
  void write_tenants(JsonWriter& w, std::string_view only = {}) const;

 private:
  void publish(std::shared_ptr<const config::Config> cfg, const std::string& who);  // write_mu_ held
  std::optional<std::string> persist() const;                                        // write_mu_ held
  void load_state();

  Metrics* metrics_;
  mutable std::mutex write_mu_;
  std::atomic<std::shared_ptr<const Directory>> current_;
  std::atomic<uint64_t> version_{0};
  std::map<std::string, TenantOverrides> overrides_;  //!< by tenant name; guarded by write_mu_
};

//! Human form of a tenant's canary for logs: "read_switch@10%".
std::string describe_canary(const config::Canary& c);

}  // namespace sy::proxy
