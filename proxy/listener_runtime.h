#pragma once
// What every session on one listener shares: its config and its TLS contexts,
// built once at start-up rather than per connection.
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>

#include "config/config.h"

namespace sy::proxy {

struct ListenerRuntime {
  config::Listener cfg;
  std::shared_ptr<boost::asio::ssl::context> client_tls;  //!< null when tls.mode is disable
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> target_tls;  //!< null entry = plaintext
  std::atomic<uint32_t> clients{0};  //!< live client connections
};

}  // namespace sy::proxy
