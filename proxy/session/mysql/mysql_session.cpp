#include "proxy/session/mysql/mysql_session.h"

#include <openssl/crypto.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "protocol/mysql/handshake.h"
#include "protocol/mysql/packet.h"
#include "protocol/mysql/response_tracker.h"
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
constexpr size_t kRelayBuffer = 64 * 1024;
constexpr uint32_t kMaxHandshakePacket = 1u << 20;
// Capabilities the proxy never lets through: it must read every packet as sent.
constexpr uint32_t kStripped = my::kClientCompress | my::kClientZstdCompression | my::kClientQueryAttributes;

std::string_view payload_of(std::string_view packet) { return packet.substr(my::kHeaderSize); }
}  // namespace

MySqlSession::MySqlSession(tcp::socket client, SessionDeps deps)
    : RelaySession(std::move(client), std::move(deps), kRelayBuffer), server_scan_(kMaxHandshakePacket) {}

void MySqlSession::terminate(std::string, std::string message) {
  auto self = this->self<MySqlSession>();
  asio::post(client_.socket().get_executor(), [self, message = std::move(message)] {
    if (!self->server_ || !self->authenticated_) {
      self->close_both();
      return;
    }
    self->pending_client_error_ = my::encode_err(1, my::kErServerShutdown, "08S01", message);
    self->server_->close();
  });
}

asio::awaitable<void> MySqlSession::refuse(uint8_t seq, uint16_t code, std::string_view sqlstate,
                                           const std::string& message) {
  auto packet = my::encode_err(seq, code, sqlstate, message);
  error_code ec;
  co_await client_.write(asio::buffer(packet), ec);
  close_both();
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
  target_ = &target;
  server_ = std::make_unique<Conn>(tcp::socket(client_.socket().get_executor()));
  auto failed = co_await connect_tcp(*server_, target.address, std::chrono::milliseconds(lcfg.connect_timeout_ms));
  std::string greeting_packet;
  if (failed.empty() && !co_await read_packet(*server_, server_buf_, greeting_packet, kMaxHandshakePacket))
    failed = "no greeting from the server";
  if (!failed.empty()) {
    count_backend_error();
    log::Event(log::Level::err, "backend_connect_failed").str("target", target.name).str("address", target.address.str())
        .str("client", client_addr_).str("error", failed);
    co_await refuse(0, my::kErConHostError, "HY000",
                    "switchyard: cannot connect to target \"" + target.name + "\" at " + target.address.str() + ": " + failed);
    co_return;
  }
  std::string greeting(payload_of(greeting_packet));
  if (!greeting.empty() && static_cast<uint8_t>(greeting[0]) == 0xff) {
    // The server refused us outright (too many connections, host blocked): its words stand.
    co_await client_.write(asio::buffer(greeting_packet), ec);
    client_.close();
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
    co_await refuse(0, my::kErConHostError, "HY000",
                    "switchyard: target \"" + target.name + "\" does not support TLS, but tls.mode requires it");
    co_return;
  }
  bool offer_tls = listener.client_tls && lcfg.tls.mode != ClientTlsMode::Disable;
  uint32_t offered = (g->capabilities & ~kStripped & ~my::kClientSsl) | (offer_tls ? my::kClientSsl : 0);
  my::set_greeting_capabilities(greeting, *g, offered);
  auto out = my::encode_packet(0, greeting);
  co_await client_.write(asio::buffer(out), ec);
  if (ec) co_return;

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
    co_await client_.tls_accept(*listener.client_tls, ec, early);
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
  tenant_version_ = listener.directory->version();
  tenant_ = listener.directory->current()->bind(lcfg.name, hello->database, user_, application_name_);
  if (tenant_) {
    tenant_name_ = tenant_->cfg.name;
    // As in PostgreSQL: `simple` counts statement texts run at once
    // (COM_QUERY), `extended` counts executions of prepared ones.
    simple_statements_ = &listener.metrics->counter("statements_total", {{"tenant", tenant_name_}, {"kind", "simple"}});
    extended_statements_ =
        &listener.metrics->counter("statements_total", {{"tenant", tenant_name_}, {"kind", "extended"}});
  }

  // 3. Login to the server on the client's behalf, TLS first if configured.
  std::string login(payload_of(hello_packet));
  my::set_hello_capabilities(login, (hello->capabilities & ~kStripped & ~my::kClientSsl) | (backend_tls ? my::kClientSsl : 0));
  tracker_ = my::ResponseTracker((hello->capabilities & g->capabilities & my::kClientDeprecateEof) != 0);
  uint8_t server_seq = 1;
  if (backend_tls) {
    auto req = my::encode_packet(server_seq++, my::ssl_request_from(login));
    co_await server_->write(asio::buffer(req), ec);
    // (Not a ?: — GCC 12 mishandles co_await inside a conditional expression.)
    std::string tls_failed = ec.message();
    if (!ec) tls_failed = co_await start_target_tls(*server_, *listener.target_tls.at(target.name), target);
    if (!tls_failed.empty()) {
      count_backend_error();
      co_await refuse(client_seq + 1, my::kErConHostError, "HY000",
                      "switchyard: cannot connect to target \"" + target.name + "\": " + tls_failed);
      co_return;
    }
  }
  seq_offset_ = int(server_seq) - int(client_seq);
  auto login_packet = my::encode_packet(server_seq, login);
  co_await server_->write(asio::buffer(login_packet), ec);
  if (ec) co_return;
  log::Event(log::Level::debug, "session_started").str("listener", lcfg.name).str("client", client_addr_)
      .str("user", user_).str("database", hello->database).str("target", target.name)
      .num("connection_id", g->connection_id).num("tls", client_.is_tls()).str("tenant", tenant_name_);

  auto self = this->self<MySqlSession>();
  asio::co_spawn(client_.socket().get_executor(), [self]() { return self->pump_backend(); }, asio::detached);
  co_await pump_frontend();
}

// OK and EOF packets are read whole from the server so their status flags are
// always there to see, info strings and session-state data included.
constexpr uint32_t kWholeServerPacket = 1024;

constexpr const char* kMultiPacketRefusal =
    "switchyard: a statement of 16 MiB or more cannot be rewritten and the tenant has on_unsupported: reject";

asio::awaitable<void> MySqlSession::pump_frontend() {
  const auto& lcfg = deps_.listener->cfg;
  my::PacketScanner scan(lcfg.max_message_bytes);
  scan.inspect_all(true);  // authentication packets carry sequence ids to renumber
  const size_t limit = size_t(lcfg.max_message_bytes) + my::kHeaderSize;
  OutputBatch out;
  error_code ec;
  struct {
    bool active = false;  //!< inside a refused multi-packet statement
    bool last = false;    //!< its current packet is the last one
    uint8_t seq = 0;
  } refusing;
  for (;;) {
    out.clear();
    bool quit = false;
    if (authenticated_) {
      scan.inspect_all(false);
      scan.inspect_statements(true);  // also enforces max_message_bytes on statements
    }
    for (;;) {
      auto view = client_buf_.unread();
      const bool packet_start = scan.at_boundary();
      // A LOCAL INFILE upload is file data, not commands, whatever its
      // sequence ids (they wrap to 0 every 256 packets).
      const bool uploading = authenticated_ && tracker_.client_uploading();
      if (authenticated_) scan.inspect_statements(!uploading);
      auto step = scan.next(view);
      if (step.kind == my::PacketScanner::Kind::NeedMore) break;
      if (step.kind == my::PacketScanner::Kind::Error) {
        log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("error", step.error);
        if (!out.empty()) co_await server_->write(out.buffers(), ec);
        frontend_done_ = true;
        pending_client_error_ = my::encode_err(1, my::kErNetPacketTooLarge, "08S01", "switchyard: " + step.error);
        server_->close();
        co_return;
      }
      auto bytes = view.substr(0, step.size);
      client_buf_.consume(step.size);
      if (step.kind == my::PacketScanner::Kind::Message) {
        if (!authenticated_) {
          if (sha2_bridge_ != Sha2Bridge::Off) {
            if (co_await bridge_sha2_answer(std::string(bytes), out)) continue;
            frontend_done_ = true;
            server_->close();
            co_return;
          }
          std::string renumbered(bytes);
          my::set_sequence_id(renumbered, static_cast<uint8_t>(my::sequence_id(bytes.data()) + seq_offset_));
          out.replace(std::move(renumbered));
          continue;
        }
        rewrite_packet(bytes, out);
        tracker_.command(static_cast<uint8_t>(bytes[my::kHeaderSize]));
        continue;
      }
      if (uploading) {
        if (packet_start && my::payload_length(bytes.data()) == 0) tracker_.upload_done();
        out.forward(bytes.data(), bytes.size());
        continue;
      }
      if (tenant_ && authenticated_ && packet_start && scan.last_seq() == 0 &&
          scan.last_first_byte() == my::kComStmtExecute)
        extended_statements_->fetch_add(1, std::memory_order_relaxed);
      if (refusing.active) {
        // The refused statement's remaining packets go nowhere; once its last
        // one is read the client gets the error, and the session goes on.
        if (packet_start) {
          refusing.last = my::payload_length(bytes.data()) < my::kMaxPacketPayload;
          refusing.seq = my::sequence_id(bytes.data());
        }
        if (refusing.last && scan.at_boundary()) {
          refusing.active = false;
          auto err = my::encode_err(static_cast<uint8_t>(refusing.seq + 1), my::kErNotSupportedYet, "42000",
                                    kMultiPacketRefusal);
          // Replies to earlier commands go first, and only one loop writes
          // to the client at a time: while the backend loop has replies in
          // flight it sends this error after them.
          if (client_writing_ || !tracker_.idle()) {
            deferred_client_error_ = std::move(err);
          } else {
            co_await client_.write(asio::buffer(err), ec);
            if (ec) break;
          }
        }
        continue;
      }
      if (tenant_ && authenticated_ && packet_start && !accept_multi_packet_statement(bytes)) {
        refusing = {.active = true};  // nothing of it reached the server
        continue;
      }
      if (authenticated_ && packet_start && scan.last_seq() == 0 && bytes.size() > my::kHeaderSize)
        tracker_.command(scan.last_first_byte());
      // A whole COM_QUIT arrives as one Forward of 5 bytes.
      quit = quit || (bytes.size() == 5 && my::sequence_id(bytes.data()) == 0 &&
                      static_cast<uint8_t>(bytes[4]) == my::kComQuit && scan.at_boundary());
      out.forward(bytes.data(), bytes.size());
    }
    if (ec) break;  // the client went away while being refused
    if (!out.empty()) {
      co_await server_->write(out.buffers(), ec);
      if (ec) break;
    }
    if (quit) break;
    if (!client_buf_.make_room(limit)) break;
    co_await client_.read_into(client_buf_, ec);
    if (ec) break;
  }
  end_after_client();
}

namespace {
// A rewrite that outgrows one packet would have to be split, and every later
// sequence id of the command renumbered in both directions. It is treated as
// any other write that cannot be rewritten safely instead: forwarded as the
// client sent it and logged, or refused under on_unsupported: reject. Never
// forwarded while counted as rewritten.
// What a statement the session cannot rewrite logs and counts: one event per
// migration (not per row), unsupported, or rejected when it is refused.
rewrite::MigrationEvent unsupported_event(const std::string& migration, const std::string& table, bool rejected,
                                          const char* reason) {
  rewrite::MigrationEvent e;
  e.migration = migration;
  e.table = table;
  e.outcome = rejected ? rewrite::Outcome::Rejected : rewrite::Outcome::Unsupported;
  e.reason = reason;
  return e;
}

std::shared_ptr<const rewrite::Decision> unsupported_as_too_large(const rewrite::Decision& d,
                                                                  config::OnUnsupported policy) {
  auto out = std::make_shared<rewrite::Decision>();
  out->fingerprint = d.fingerprint;
  const bool reject = policy == config::OnUnsupported::Reject;
  // One event per migration, as for any unsupported statement: a bulk INSERT
  // has an event per row, and 100,000 warnings would bury the one that matters.
  for (const auto& ev : d.events) {
    bool seen = false;
    for (const auto& o : out->events) seen = seen || o.migration == ev.migration;
    if (!seen)
      out->events.push_back(
          unsupported_event(ev.migration, ev.table, reject, "the rewritten statement would exceed one 16 MiB packet"));
  }
  out->action = reject ? rewrite::Decision::Action::Rewrite : rewrite::Decision::Action::Forward;
  out->rejected = reject;
  out->sql = reject ? "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'switchyard: statement too large to rewrite "
                      "(over 16 MiB) and the tenant has on_unsupported: reject'"
                    : std::string();
  return out;
}
}  // namespace

// A statement of 16 MiB or more arrives in several packets, which are relayed
// as they come rather than rewritten (a rewrite would change the packet count
// and every sequence id after it). One that may write a migrated table is an
// unsupported write: logged and counted, and under on_unsupported: reject it
// is refused before any of it reaches the server.
bool MySqlSession::accept_multi_packet_statement(std::string_view first) {
  if (first.size() <= my::kHeaderSize || my::payload_length(first.data()) != my::kMaxPacketPayload ||
      my::sequence_id(first.data()) != 0)
    return true;
  const auto cmd = static_cast<uint8_t>(first[my::kHeaderSize]);
  if (cmd != my::kComQuery && cmd != my::kComStmtPrepare) return true;
  if (cmd == my::kComQuery) simple_statements_->fetch_add(1, std::memory_order_relaxed);
  auto phase = statement_phase(tracker_.in_transaction());
  // The statement's first bytes: enough for the verb, the table and, in
  // practice, the column list.
  auto head = first.substr(my::kHeaderSize + 1);
  if (phase == config::Phase::Off || !tenant_->rewriter->migrations().may_touch(head)) return true;
  auto mentioned = tenant_->rewriter->migrations().mentioned_in(head);
  if (mentioned.empty()) return true;  // orders_archive, not orders
  const bool reject =
      tenant_->cfg.on_unsupported == config::OnUnsupported::Reject && rewrite::rewrites_writes(phase);
  rewrite::Decision d;
  for (const auto* m : mentioned)
    d.events.push_back(unsupported_event(m->cfg->name, m->cfg->table, reject,
                                         "a statement of 16 MiB or more spans several packets and is not rewritten"));
  record_decision(*deps_.listener->metrics, d, tenant_name_, phase, client_addr_);
  return !reject;
}

void MySqlSession::rewrite_packet(std::string_view packet, OutputBatch& out) {
  if (!tenant_) {
    out.forward(packet.data(), packet.size());
    return;
  }
  const uint8_t cmd = static_cast<uint8_t>(packet[my::kHeaderSize]);
  if (cmd == my::kComQuery) simple_statements_->fetch_add(1, std::memory_order_relaxed);
  auto started = std::chrono::steady_clock::now();
  auto phase = statement_phase(tracker_.in_transaction());
  if (phase == config::Phase::Off) {
    out.forward(packet.data(), packet.size());
    return;
  }
  std::string_view sql = packet.substr(my::kHeaderSize + 1);
  auto decision = tenant_->rewriter->decide(sql, phase, cmd == my::kComStmtPrepare, rewrite::Dialect::Mysql);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  deps_.listener->metrics->statement_overhead().observe(elapsed);
  if (!decision) {
    out.forward(packet.data(), packet.size());
    return;
  }
  deps_.listener->metrics->rewrite_duration().observe(elapsed);
  if (decision->action == rewrite::Decision::Action::Rewrite && decision->sql.size() + 1 >= my::kMaxPacketPayload)
    decision = unsupported_as_too_large(*decision, tenant_->cfg.on_unsupported);
  record_decision(*deps_.listener->metrics, *decision, tenant_name_, phase, client_addr_);
  if (decision->action != rewrite::Decision::Action::Rewrite) {
    out.forward(packet.data(), packet.size());
    return;
  }
  std::string payload;
  payload.reserve(decision->sql.size() + 1);
  payload.push_back(static_cast<char>(cmd));
  payload.append(decision->sql);
  out.replace(my::encode_packet(0, payload));
}

// Full authentication sends the password in clear over TLS, or RSA-encrypted
// with the server's key without TLS, each side judging by its own connection.
// With TLS on one side only, switchyard does the other half of the exchange.
//
// The client's answer to "perform full authentication". A plaintext client
// asks for the server's public key, gets switchyard's, then sends its password
// encrypted with it; the server gets it in clear over TLS. A TLS client sends
// its password in clear; switchyard asks the plaintext server for its key
// (send_bridged_password takes the reply), so the password never crosses the
// unencrypted hop in clear.
asio::awaitable<bool> MySqlSession::bridge_sha2_answer(std::string packet, OutputBatch& out) {
  const auto seq = my::sequence_id(packet.data());
  std::string_view answer = std::string_view(packet).substr(my::kHeaderSize);
  if (sha2_bridge_ == Sha2Bridge::ClientPassword) {
    bridged_password_.assign(answer);
    OPENSSL_cleanse(packet.data(), packet.size());
    out.replace(my::encode_packet(static_cast<uint8_t>(seq + seq_offset_), "\x02"));  // request the public key
    seq_offset_ += 2;  // the key and our encrypted answer never reach the client
    sha2_bridge_ = Sha2Bridge::ServerKey;
    co_return true;
  }
  const auto& key = *deps_.listener->sha2_key;
  if (sha2_bridge_ == Sha2Bridge::KeyOrPassword && answer == "\x02") {
    error_code ec;
    co_await client_.write(asio::buffer(my::encode_packet(static_cast<uint8_t>(seq + 1), "\x01" + key.public_pem())), ec);
    seq_offset_ -= 2;  // the request and the key never reach the server
    sha2_bridge_ = Sha2Bridge::Password;
    co_return !ec;
  }
  sha2_bridge_ = Sha2Bridge::Off;
  auto password = key.decrypt_password(answer, std::string_view(nonce_).substr(0, my::kScrambleLength));
  OPENSSL_cleanse(packet.data(), packet.size());
  if (!password) {
    refuse_bridged_login(static_cast<uint8_t>(seq + 1), "client answer not encrypted with the key switchyard sent",
                         "the password was not encrypted with the public key switchyard sent; a client configured "
                         "with the server's own key (server-public-key-path) cannot log in through switchyard without "
                         "TLS on the client side");
    co_return false;
  }
  out.replace(my::encode_packet(static_cast<uint8_t>(seq + seq_offset_), *password));
  OPENSSL_cleanse(password->data(), password->size());
  co_return true;
}

// The plaintext server's public key, asked for by bridge_sha2_answer;
// `server_seq` is the sequence id the server gave it.
asio::awaitable<bool> MySqlSession::send_bridged_password(std::string_view pem, uint8_t server_seq) {
  auto encrypted =
      sha2_encrypt_password(pem, bridged_password_, std::string_view(nonce_).substr(0, my::kScrambleLength));
  wipe_bridged_password();
  if (!encrypted) {
    // The client is waiting for the answer to its password, two after this packet.
    refuse_bridged_login(static_cast<uint8_t>(server_seq - seq_offset_ + 2), "target sent no usable RSA public key",
                         "target \"" + target_->name + "\" sent no usable RSA public key for caching_sha2_password");
    co_return false;
  }
  error_code ec;
  co_await server_->write(asio::buffer(my::encode_packet(static_cast<uint8_t>(server_seq + 1), *encrypted)), ec);
  co_return !ec;
}

void MySqlSession::wipe_bridged_password() {
  OPENSSL_cleanse(bridged_password_.data(), bridged_password_.size());
  bridged_password_.clear();
}

void MySqlSession::refuse_bridged_login(uint8_t seq, std::string_view reason, const std::string& message) {
  log::Event(log::Level::warn, "auth_refused").str("listener", deps_.listener->cfg.name).str("client", client_addr_)
      .str("user", user_).str("plugin", auth_plugin_).str("reason", reason);
  pending_client_error_ = my::encode_err(seq, my::kErNotSupportedAuthMode, "08004", "switchyard: " + message);
}

asio::awaitable<void> MySqlSession::pump_backend() {
  auto self = this->self<MySqlSession>();  // keeps the session alive while either loop runs
  server_scan_.inspect_all(true);
  OutputBatch out;
  error_code ec;
  for (;;) {
    co_await server_->read_into(server_buf_, ec);
    if (ec) break;
    out.clear();
    for (;;) {
      auto view = server_buf_.unread();
      const bool packet_start = server_scan_.at_boundary();
      auto step = server_scan_.next(view);
      if (step.kind == my::PacketScanner::Kind::NeedMore) break;
      if (step.kind == my::PacketScanner::Kind::Error) {
        ec = asio::error::invalid_argument;
        break;
      }
      auto bytes = view.substr(0, step.size);
      server_buf_.consume(step.size);
      if (step.kind == my::PacketScanner::Kind::Message && !authenticated_) {
        auto payload = bytes.substr(my::kHeaderSize);
        if (sha2_bridge_ == Sha2Bridge::ServerKey) {
          sha2_bridge_ = Sha2Bridge::Off;
          if (!payload.empty() && static_cast<uint8_t>(payload[0]) == 0x01) {  // AuthMoreData: the key
            if (co_await send_bridged_password(payload.substr(1), my::sequence_id(bytes.data()))) continue;
            ec = asio::error::operation_aborted;
            break;
          }
          wipe_bridged_password();
          seq_offset_ -= 2;  // an error in place of the key answers the client's password itself
        }
        std::string renumbered(bytes);
        my::set_sequence_id(renumbered, static_cast<uint8_t>(my::sequence_id(bytes.data()) - seq_offset_));
        if (auto sw = my::parse_auth_switch(payload)) {
          auth_plugin_ = sw->plugin;
          nonce_ = sw->data;
        }
        if (auth_plugin_ == my::kCachingSha2Password && my::is_sha2_full_auth_request(payload) &&
            client_.is_tls() != server_->is_tls()) {
          // Relay the request either way; the frontend takes the client's answer.
          sha2_bridge_ = server_->is_tls() ? Sha2Bridge::KeyOrPassword : Sha2Bridge::ClientPassword;
        }
        auto first = bytes.size() > my::kHeaderSize ? static_cast<uint8_t>(bytes[my::kHeaderSize]) : 0xff;
        if (first == 0x00) {
          // OK: logged in. From here on both sides count from 0 per command.
          authenticated_ = true;
          server_scan_.inspect_all(false);
          server_scan_.inspect_small(kWholeServerPacket);
          logged_in();
        }
        out.replace(std::move(renumbered));
        continue;
      }
      if (authenticated_ && packet_start && !tracker_.lost()) {
        tracker_.server_packet(my::payload_length(bytes.data()), bytes.substr(my::kHeaderSize));
        if (tracker_.lost())
          log::Event(log::Level::info, "transaction_tracking_lost").str("client", client_addr_)
              .str("tenant", tenant_name_);
      }
      out.forward(bytes.data(), bytes.size());
    }
    if (!out.empty()) {
      error_code wec;
      client_writing_ = true;
      co_await client_.write(out.buffers(), wec);
      client_writing_ = false;
      if (wec) break;
    }
    if (!deferred_client_error_.empty() && tracker_.idle()) {
      error_code wec;
      co_await client_.write(asio::buffer(std::exchange(deferred_client_error_, {})), wec);
      if (wec) break;
    }
    if (ec) break;
    if (!server_buf_.make_room(kMaxHandshakePacket + my::kHeaderSize)) break;
  }
  if (!pending_client_error_.empty() && server_scan_.at_boundary()) {
    error_code wec;
    co_await client_.write(asio::buffer(pending_client_error_), wec);
  } else if (!frontend_done_ && pending_client_error_.empty() && authenticated_) {
    bool said_why = server_scan_.last_first_byte() == 0xff;
    if (!said_why) {
      count_backend_error();
      log::Event(log::Level::err, "backend_lost").str("target", target_->name).str("address", target_->address.str())
          .str("client", client_addr_).str("error", ec.message());
      if (server_scan_.at_boundary()) {
        auto msg = my::encode_err(static_cast<uint8_t>(server_scan_.last_seq() + 1), my::kErServerLost, "08S01",
                                  "switchyard: lost connection to target \"" + target_->name + "\" at " +
                                      target_->address.str() + ": " + ec.message());
        error_code wec;
        co_await client_.write(asio::buffer(msg), wec);
      }
    }
  }
  end_after_server();
}

}  // namespace sy::proxy
