#pragma once
// OpenSSL contexts built from config, once per listener/target and shared by
// every session on it.
#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>

#include "config/config.h"

namespace sy::proxy {

//! Context for terminating client TLS; throws std::runtime_error naming the bad file.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const config::ClientTls& tls);

//! Context for connecting to a target; verify-full loads the CA and checks the
//! peer; a configured client certificate and key are loaded and matched.
std::shared_ptr<boost::asio::ssl::context> make_client_tls(const config::BackendTls& tls);

//! Every TLS context of one listener, built from its files in one go. A
//! reload builds a new set (certificate rotation) and swaps it in whole; a
//! session keeps the set it started with, so its handshakes never see a half.
struct ListenerTls {
  std::shared_ptr<boost::asio::ssl::context> client;  //!< null when tls.mode is disable
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> targets;  //!< null entry = plaintext
};

//! Reads the listener's certificate, key and CA files; throws
//! std::runtime_error naming the listener and the file that is bad.
std::shared_ptr<const ListenerTls> make_listener_tls(const config::Listener& l);

}  // namespace sy::proxy
