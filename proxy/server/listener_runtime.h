#pragma once
// What every session on one listener shares: its config and its TLS contexts,
// built at start-up and again by each reload (which re-reads the certificate,
// key and CA files), rather than per connection.
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/net/tls.h"
#include "proxy/session/mysql/sha2_rsa_key.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/telemetry/listener_stats.h"

namespace sy::proxy {

class Metrics;
class TenantDirectory;

struct ListenerRuntime {
  config::Listener cfg;
  //! Taken once by each session as it starts (RelaySession::tls_); replaced
  //! whole by the control plane when a reload re-reads the files.
  std::atomic<std::shared_ptr<const ListenerTls>> tls;
  //! MySQL listeners whose clients may be plaintext while a target uses TLS.
  std::shared_ptr<const Sha2RsaKey> sha2_key;
  std::atomic<uint32_t> clients{0};  //!< live client connections
  //! Live clients of every listener, and runtime.max_client_connections (0: none).
  std::atomic<uint32_t>* process_clients = nullptr;
  uint32_t process_limit = 0;
  TenantDirectory* directory = nullptr;  //!< tenants and their flags, as in force now
  Metrics* metrics = nullptr;
  //! This listener's own series (connections, backend errors), resolved once.
  std::unique_ptr<const ListenerStats> stats;
};

}  // namespace sy::proxy
