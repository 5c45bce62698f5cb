#pragma once
// The admin API's routes and rules, independent of HTTP plumbing (Beast lives
// in admin_http.cpp only): a request in, a response out.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/flags/tenant_directory.h"

namespace sy::proxy {

class Metrics;
class StatsSampler;
class ShadowService;
namespace fleet {
class FleetSync;
}

struct AdminRequest {
  std::string method;         //!< GET, PATCH, POST ...
  std::string target;         //!< path and query
  std::string authorization;  //!< the Authorization header, if any
  std::string body;
  std::string remote;         //!< peer address, for PHASE_CHANGE's "who"
  std::string if_match;       //!< the If-Match header: the flags store version a PATCH expects
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct AdminDeps {
  Metrics* metrics = nullptr;
  TenantDirectory* directory = nullptr;
  const StatsSampler* stats = nullptr;
  //! Reloads the config file; `who` ends up in the PHASE_CHANGE lines.
  std::function<ChangeResult(const std::string& who)> reload;
  //! Reasons the proxy is not ready (empty = ready).
  std::function<std::vector<std::string>()> not_ready;
  std::string token;  //!< bearer token for mutations; empty = mutations disabled
  //! Shadow reads: /v1/mismatches, guard states, and a PATCH clears the tenant's guard.
  ShadowService* shadow = nullptr;
  //! With flags_store: PATCH goes through the store, /v1/fleet and history read it.
  fleet::FleetSync* fleet = nullptr;
};

//! An error body: {"error": message}, plus "errors" when not empty.
std::string json_error(std::string_view message, const std::vector<std::string>& errors = {});

class AdminApi {
 public:
  explicit AdminApi(AdminDeps deps) : deps_(std::move(deps)) {}
  AdminResponse handle(const AdminRequest& req) const;
  //! What the HTTP layer calls: handle(), except for the routes that wait on
  //! the flags store (PATCH of a tenant, its history), which run as
  //! coroutines on the control plane's io_context.
  boost::asio::awaitable<AdminResponse> handle_async(AdminRequest req) const;

 private:
  bool authorized(const AdminRequest& req, AdminResponse& denied) const;
  AdminResponse patch_tenant(const std::string& name, const AdminRequest& req) const;
  AdminResponse status_page() const;
  //! The body of a PATCH: the change, and the optional "why" (kept in the store's history).
  struct PatchBody {
    DecodedChange decoded;
    std::string why;
    int status = 200;
  };
  static PatchBody decode_patch(const std::string& body);
  AdminResponse patched(const std::string& name, const ChangeResult& r, uint64_t store_version) const;
  AdminDeps deps_;
};

}  // namespace sy::proxy
