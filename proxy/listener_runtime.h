#pragma once
// What every session on one listener shares: its config and its TLS contexts,
// built once at start-up rather than per connection.
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

class Metrics;

struct TenantRuntime {
  config::Tenant cfg;
  std::shared_ptr<rewrite::TenantRewriter> rewriter;
};

struct ListenerRuntime {
  config::Listener cfg;
  std::shared_ptr<boost::asio::ssl::context> client_tls;  //!< null when tls.mode is disable
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> target_tls;  //!< null entry = plaintext
  std::atomic<uint32_t> clients{0};  //!< live client connections
  //! Tenants that may match sessions on this listener, in file order.
  std::vector<std::shared_ptr<const TenantRuntime>> tenants;
  Metrics* metrics = nullptr;

  //! The first tenant whose `match` fits this session, or null (pure relay).
  std::shared_ptr<const TenantRuntime> bind(std::string_view database, std::string_view user,
                                            std::string_view application_name) const {
    for (const auto& t : tenants)
      if (t->cfg.match.matches(cfg.name, database, user, application_name)) return t;
    return nullptr;
  }
};

}  // namespace sy::proxy
