#pragma once
// OpenSSL contexts built from config, once per listener/target and shared by
// every session on it.
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "config/config.h"

namespace sy::proxy {

//! Context for terminating client TLS; throws std::runtime_error naming the bad file.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const config::ClientTls& tls);

//! Context for connecting to a target; verify-full loads the CA and checks the peer.
std::shared_ptr<boost::asio::ssl::context> make_client_tls(const config::BackendTls& tls);

}  // namespace sy::proxy
