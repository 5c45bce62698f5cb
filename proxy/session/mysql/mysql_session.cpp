#include "proxy/session/mysql/mysql_session.h"

#include <openssl/crypto.h>

#include <boost/asio/post.hpp>

#include "protocol/mysql/handshake.h"
#include "protocol/mysql/packet.h"
#include "proxy/backends/backend_connect.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/telemetry/log.h"
#include "proxy/net/output_batch.h"
#include "proxy/session/session_set.h"
#include "proxy/flags/tenant_directory.h"
#include "rewrite/statement_outcome.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

namespace my = sy::mysql;
using config::BackendTlsMode;
using config::ClientTlsMode;

namespace {
constexpr uint32_t kMaxHandshakePacket = MySqlBackend::kMaxHandshakePacket;
// Capabilities the proxy never lets through: it must read every packet as sent.
constexpr uint32_t kStripped = my::kClientCompress | my::kClientZstdCompression | my::kClientQueryAttributes;

std::string_view payload_of(std::string_view packet) { return packet.substr(my::kHeaderSize); }
}  // namespace

MySqlSession::MySqlSession(tcp::socket client, SessionDeps deps) : RelaySession(std::move(client), std::move(deps)) {}

void MySqlSession::terminate(std::string, std::string message) {
  auto self = this->self<MySqlSession>();
  asio::post(client_.socket().get_executor(), [self, message = std::move(message)] {
    if (self->stage_ != Stage::Relay) {  // still logging in: nothing to preserve
      self->close_both();
      return;
    }
    // The loop reading the server sends it at the next packet boundary.
    self->pending_client_error_ = my::encode_err(1, my::kErServerShutdown, "08S01", message);
    self->primary_->conn.close();
  });
}

asio::awaitable<void> MySqlSession::refuse(uint8_t seq, uint16_t code, std::string_view sqlstate,
                                           const std::string& message) {
  co_await send_and_close(my::encode_err(seq, code, sqlstate, message));
}


asio::awaitable<bool> MySqlSession::read_packet(Conn& conn, ByteBuffer& buf, std::string& out, uint32_t limit) {
  for (;;) {
    auto view = buf.unread();
    if (view.size() >= my::kHeaderSize) {
      uint32_t len = my::payload_length(view.data());
      if (len > limit || len >= my::kMaxPacketPayload) co_return false;
      if (view.size() >= my::kHeaderSize + len) {
        out.assign(view.substr(0, my::kHeaderSize + len));
        buf.consume(my::kHeaderSize + len);
        co_return true;
      }
    }
    if (!buf.make_room(limit + my::kHeaderSize)) co_return false;
    error_code ec;
    co_await conn.read_into(buf, ec);
    if (ec) co_return false;
  }
}

asio::awaitable<void> MySqlSession::run() {
  auto& listener = *deps_.listener;
  const auto& lcfg = listener.cfg;
  if (!admit()) {
    co_await refuse(0, my::kErTooManyConnections, "08004", "switchyard: too many connections");
    co_return;
  }
  error_code ec;

  // 1. The server speaks first: connect before greeting the client.
  const auto& target = lcfg.primary_target();
  primary_ = std::make_unique<MySqlBackend>(target, client_.socket().get_executor());
  auto& srv = server();
  // The greeting is under connect_timeout_ms too: a server that accepts
  // and then says nothing fails here, not at the login timeout.
  std::string failed, greeting_packet;
  {
    ConnectDeadline deadline(srv.conn, std::chrono::milliseconds(lcfg.connect_timeout_ms));
    failed = co_await connect_tcp(srv.conn, target.address, deadline);
    if (failed.empty() && !co_await read_packet(srv.conn, srv.buf, greeting_packet, kMaxHandshakePacket))
      failed = deadline.explain("no greeting from the server");
  }
  if (!failed.empty()) {
    count_backend_error();
    log::Event(log::Level::err, "backend_connect_failed").str("target", target.name).str("address", target.address.str())
        .str("client", client_addr_).str("error", failed);
    co_await refuse(0, my::kErConnectToForeignDataSource, "HY000",
                    "switchyard: cannot connect to target \"" + target.name + "\" at " + target.address.str() + ": " + failed);
    co_return;
  }
  std::string greeting(payload_of(greeting_packet));
  if (!greeting.empty() && static_cast<uint8_t>(greeting[0]) == 0xff) {
    // The server refused us outright (too many connections, host blocked): its words stand.
    co_await send_and_close(std::move(greeting_packet));
    co_return;
  }
  auto g = my::parse_greeting(greeting);
  if (!g) {
    co_await refuse(0, my::kErHandshake, "08S01", "switchyard: target \"" + target.name + "\" sent an unknown greeting");
    co_return;
  }
  nonce_ = g->scramble;
  bool server_tls = (g->capabilities & my::kClientSsl) != 0;
  bool backend_tls = target.tls.mode != BackendTlsMode::Disable && server_tls;
  if (!server_tls && (target.tls.mode == BackendTlsMode::Require || target.tls.mode == BackendTlsMode::VerifyFull)) {
    co_await refuse(0, my::kErConnectToForeignDataSource, "HY000",
                    "switchyard: target \"" + target.name + "\" does not support TLS, but tls.mode requires it");
    co_return;
  }
  bool offer_tls = tls_->client && lcfg.tls.mode != ClientTlsMode::Disable;
  uint32_t offered = (g->capabilities & ~kStripped & ~my::kClientSsl) | (offer_tls ? my::kClientSsl : 0);
  my::set_greeting_capabilities(greeting, *g, offered);
  to_client_.push(my::encode_packet(0, greeting));

  // 2. The client's answer: an SSLRequest first, or straight away its login.
  std::string hello_packet;
  if (!co_await read_packet(client_, client_buf_, hello_packet, kMaxHandshakePacket)) {
    client_.close();  // a port scanner or a client that gave up: nothing to say
    co_return;
  }
  auto hello = my::parse_client_hello(payload_of(hello_packet));
  if (hello && hello->ssl_request) {
    if (!offer_tls) {
      co_await refuse(2, my::kErHandshake, "08S01", "switchyard: unexpected TLS request");
      co_return;
    }
    // MySQL has no answer to an SSLRequest: the client's ClientHello may
    // already be in our buffer, and belongs to the TLS handshake.
    std::string early(client_buf_.unread());
    client_buf_.consume(early.size());
    // The handshake writes to the socket itself: the writer must be done first.
    if (!co_await to_client_.flush()) co_return;
    co_await client_.tls_accept(*tls_->client, ec, early);
    if (ec) {
      log::Event(log::Level::warn, "tls_handshake_failed").str("client", client_addr_).str("error", ec.message());
      client_.close();
      co_return;
    }
    if (!co_await read_packet(client_, client_buf_, hello_packet, kMaxHandshakePacket)) {
      client_.close();
      co_return;
    }
    hello = my::parse_client_hello(payload_of(hello_packet));
  }
  const uint8_t client_seq = my::sequence_id(hello_packet.data());
  if (!hello || hello->ssl_request) {
    log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("phase", "handshake");
    co_await refuse(client_seq + 1, my::kErHandshake, "08S01", "switchyard: bad handshake response");
    co_return;
  }
  if (lcfg.tls.mode == ClientTlsMode::Require && !client_.is_tls()) {
    co_await refuse(client_seq + 1, my::kErSecureTransportRequired, "HY000",
                    "switchyard: listener \"" + lcfg.name + "\" requires an encrypted connection (--ssl)");
    co_return;
  }
  user_ = hello->user;
  auth_plugin_ = hello->auth_plugin;
  application_name_ = hello->program_name;
  // statements_total: as in PostgreSQL, `simple` counts statement texts run
  // at once (COM_QUERY), `extended` counts executions of prepared ones.
  bind_tenant(hello->database);

  // 3. Login to the server on the client's behalf, TLS first if configured.
  std::string login(payload_of(hello_packet));
  my::set_hello_capabilities(login, (hello->capabilities & ~kStripped & ~my::kClientSsl) | (backend_tls ? my::kClientSsl : 0));
  srv.tracker = my::ResponseTracker((hello->capabilities & g->capabilities & my::kClientDeprecateEof) != 0);
  uint8_t server_seq = 1;
  if (backend_tls) {
    auto req = my::encode_packet(server_seq++, my::ssl_request_from(login));
    co_await srv.conn.write(asio::buffer(req), ec);
    // (Not a ?: — GCC 12 mishandles co_await inside a conditional expression.)
    std::string tls_failed = ec.message();
    if (!ec) {
      ConnectDeadline deadline(srv.conn, std::chrono::milliseconds(lcfg.connect_timeout_ms));
      tls_failed = deadline.explain(co_await start_target_tls(srv.conn, *tls_->targets.at(target.name), target));
    }
    if (!tls_failed.empty()) {
      count_backend_error();
      co_await refuse(client_seq + 1, my::kErConnectToForeignDataSource, "HY000",
                      "switchyard: cannot connect to target \"" + target.name + "\": " + tls_failed);
      co_return;
    }
  }
  seq_offset_ = int(server_seq) - int(client_seq);
  login_reply_seq_ = static_cast<uint8_t>(client_seq + 1);
  auto login_packet = my::encode_packet(server_seq, login);
  co_await srv.conn.write(asio::buffer(login_packet), ec);
  if (ec) {
    close_both();
    co_return;
  }
  log::Event(log::Level::debug, "session_started").str("listener", lcfg.name).str("client", client_addr_)
      .str("user", user_).str("database", hello->database).str("target", target.name)
      .num("connection_id", g->connection_id).num("tls", client_.is_tls()).str("tenant", tenant_name_);

  stage_ = Stage::Login;
  if (!co_await this->login()) co_return;
  logged_in();
  co_await relay();
}

}  // namespace sy::proxy

// OK and EOF packets are read whole from the server so their status flags are
// always there to see, info strings and session-state data included.