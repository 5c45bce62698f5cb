#pragma once
// The admin API's routes and rules, independent of HTTP plumbing (Beast lives
// in admin_http.cpp only): a request in, a response out.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/flags/tenant_directory.h"

namespace sy::proxy {

class Metrics;
class StatsSampler;
class ShadowService;

struct AdminRequest {
  std::string method;         //!< GET, PATCH, POST ...
  std::string target;         //!< path and query
  std::string authorization;  //!< the Authorization header, if any
  std::string body;
  std::string remote;         //!< peer address, for PHASE_CHANGE's "who"
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
};

//! An error body: {"error": message}, plus "errors" when not empty.
std::string json_error(std::string_view message, const std::vector<std::string>& errors = {});

class AdminApi {
 public:
  explicit AdminApi(AdminDeps deps) : deps_(std::move(deps)) {}
  AdminResponse handle(const AdminRequest& req) const;

 private:
  bool authorized(const AdminRequest& req, AdminResponse& denied) const;
  AdminResponse patch_tenant(const std::string& name, const AdminRequest& req) const;
  AdminResponse status_page() const;
  AdminDeps deps_;
};

}  // namespace sy::proxy
