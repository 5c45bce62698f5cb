#include "proxy/net/tls.h"

#include <stdexcept>

namespace sy::proxy {

namespace ssl = boost::asio::ssl;

namespace {
std::shared_ptr<ssl::context> base_context(ssl::context::method m) {
  auto ctx = std::make_shared<ssl::context>(m);
  // TLS 1.2 is the oldest version PostgreSQL 15 itself accepts by default.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  return ctx;
}

// A certificate chain and its key; loading the key after the chain makes
// OpenSSL check that the two belong together. `what` names them in errors.
void load_pair(ssl::context& ctx, const std::string& cert, const std::string& key, const std::string& what) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert, ec);
  if (ec) throw std::runtime_error("cannot load " + what + "certificate " + cert + ": " + ec.message());
  ctx.use_private_key_file(key, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load " + what + "key " + key + ": " + ec.message());
}
}  // namespace

std::shared_ptr<ssl::context> make_server_tls(const config::ClientTls& tls) {
  auto ctx = base_context(ssl::context::tls_server);
  load_pair(*ctx, tls.cert, tls.key, "TLS ");
  return ctx;
}

std::shared_ptr<ssl::context> make_client_tls(const config::BackendTls& tls) {
  auto ctx = base_context(ssl::context::tls_client);
  // Presented to servers that authenticate the proxy by certificate
  // (PostgreSQL `cert`/`clientcert`, MariaDB REQUIRE X509).
  if (!tls.cert.empty()) load_pair(*ctx, tls.cert, tls.key, "client ");
  if (tls.mode == config::BackendTlsMode::VerifyFull) {
    boost::system::error_code ec;
    ctx->load_verify_file(tls.ca, ec);
    if (ec) throw std::runtime_error("cannot load CA bundle " + tls.ca + ": " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    // prefer/require encrypt without authenticating the server, as libpq's
    // sslmode of the same names do.
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

std::shared_ptr<const ListenerTls> make_listener_tls(const config::Listener& l) {
  auto out = std::make_shared<ListenerTls>();
  try {
    if (l.tls.mode != config::ClientTlsMode::Disable) out->client = make_server_tls(l.tls);
    for (const auto& t : l.targets)
      out->targets[t.name] = t.tls.mode == config::BackendTlsMode::Disable ? nullptr : make_client_tls(t.tls);
  } catch (const std::exception& e) {
    throw std::runtime_error("listener \"" + l.name + "\": " + e.what());
  }
  return out;
}

}  // namespace sy::proxy
