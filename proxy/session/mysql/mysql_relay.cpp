// The relay stage of a MySQL session: client -> server (COM_QUERY and
// COM_STMT_PREPARE of a tenant's session go through its rewriter; LOCAL
// INFILE data and statements of 16 MiB or more are relayed as they come) and
// server -> client (through the client's one writer), until either side ends.
#include "protocol/mysql/packet.h"
#include "proxy/shadow/shadow_runner.h"
#include "proxy/net/output_batch.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/session/mysql/mysql_session.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/telemetry/log.h"
#include "rewrite/statement_outcome.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

namespace my = sy::mysql;

constexpr uint32_t kWholeServerPacket = 1024;

constexpr const char* kMultiPacketRefusal =
    "switchyard: a statement of 16 MiB or more cannot be rewritten and the tenant has on_unsupported: reject";

asio::awaitable<void> MySqlSession::pump_frontend() {
  const auto& lcfg = deps_.listener->cfg;
  auto& srv = server();
  auto& tracker = srv.tracker;
  my::PacketScanner scan(lcfg.max_message_bytes);
  scan.inspect_statements(true);  // also enforces max_message_bytes on statements
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
    for (;;) {
      auto view = client_buf_.unread();
      const bool packet_start = scan.at_boundary();
      // A LOCAL INFILE upload is file data, not commands, whatever its
      // sequence ids (they wrap to 0 every 256 packets).
      const bool uploading = tracker.client_uploading();
      scan.inspect_statements(!uploading);
      auto step = scan.next(view);
      if (step.kind == my::PacketScanner::Kind::NeedMore) break;
      if (step.kind == my::PacketScanner::Kind::Error) {
        log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("error", step.error);
        if (!out.empty()) co_await srv.conn.write(out.buffers(), ec);
        frontend_done_ = true;
        pending_client_error_ = my::encode_err(1, my::kErNetPacketTooLarge, "08S01", "switchyard: " + step.error);
        srv.conn.close();
        co_return;
      }
      auto bytes = view.substr(0, step.size);
      client_buf_.consume(step.size);
      if (step.kind == my::PacketScanner::Kind::Message) {
        rewrite_packet(bytes, out);
        tracker.command(static_cast<uint8_t>(bytes[my::kHeaderSize]));
        if (static_cast<uint8_t>(bytes[my::kHeaderSize]) == my::kComStmtPrepare) note_prepare_sent();
        continue;
      }
      if (uploading) {
        if (packet_start && my::payload_length(bytes.data()) == 0) tracker.upload_done();
        out.forward(bytes.data(), bytes.size());
        continue;
      }
      if (tenant_ && packet_start && scan.last_seq() == 0 &&
          scan.last_first_byte() == my::kComStmtExecute)
        tenant_stats_->statements_extended().fetch_add(1, std::memory_order_relaxed);
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
          // Replies to earlier commands go first. Once every command before
          // it is answered, those replies are already queued for the client,
          // so the error can follow them; until then the backend loop queues
          // it after the last reply.
          if (!tracker.idle()) {
            deferred_client_error_ = std::move(err);
          } else if (!co_await to_client_.send(err)) {
            break;
          }
        }
        continue;
      }
      if (tenant_ && packet_start && !accept_multi_packet_statement(bytes)) {
        refusing = {.active = true};  // nothing of it reached the server
        continue;
      }
      if (packet_start && scan.last_seq() == 0 && bytes.size() > my::kHeaderSize) {
        tracker.command(scan.last_first_byte());
        // Shadow reads: the login database, prepared statements and their
        // parameters (mysql_shadow_capture.cpp). `bytes` is the whole packet
        // when the scanner is at its end after it.
        if (tenant_ && deps_.shadow)
          note_command(scan.last_first_byte(), bytes.substr(my::kHeaderSize),
                       scan.at_boundary() && bytes.size() == my::kHeaderSize + my::payload_length(bytes.data()));
      }
      // A whole COM_QUIT arrives as one Forward of 5 bytes.
      quit = quit || (bytes.size() == 5 && my::sequence_id(bytes.data()) == 0 &&
                      static_cast<uint8_t>(bytes[4]) == my::kComQuit && scan.at_boundary());
      out.forward(bytes.data(), bytes.size());
    }
    if (ec) break;
    if (!out.empty()) {
      maybe_fault("from_client");
      co_await srv.conn.write(out.buffers(), ec);
      if (ec) break;
    }
    if (quit) break;
    if (!client_buf_.make_room(limit)) break;
    co_await client_.read_into(client_buf_, ec);
    if (ec) break;
    note_activity();
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
  if (cmd == my::kComQuery) tenant_stats_->statements_simple().fetch_add(1, std::memory_order_relaxed);
  auto phase = statement_phase(server().tracker.in_transaction());
  // The statement's first bytes: enough for the verb, the table and, in
  // practice, the column list.
  auto head = first.substr(my::kHeaderSize + 1);
  if (!tenant_->rewriter->migrations().needs_parse(head, phase)) return true;
  auto mentioned = tenant_->rewriter->migrations().mentioned_in(head);
  if (mentioned.empty()) return true;  // orders_archive, not orders
  const bool reject =
      tenant_->cfg.on_unsupported == config::OnUnsupported::Reject && rewrite::rewrites_writes(phase);
  rewrite::Decision d;
  for (const auto* m : mentioned)
    d.events.push_back(unsupported_event(m->cfg->name, m->cfg->table, reject,
                                         "a statement of 16 MiB or more spans several packets and is not rewritten"));
  record_decision(*tenant_stats_, d, phase, client_addr_);
  return !reject;
}

void MySqlSession::rewrite_packet(std::string_view packet, OutputBatch& out) {
  if (!tenant_) {
    out.forward(packet.data(), packet.size());
    return;
  }
  const uint8_t cmd = static_cast<uint8_t>(packet[my::kHeaderSize]);
  if (cmd == my::kComQuery) tenant_stats_->statements_simple().fetch_add(1, std::memory_order_relaxed);
  auto started = std::chrono::steady_clock::now();
  auto phase = statement_phase(server().tracker.in_transaction());
  if (phase == config::Phase::Off) {
    out.forward(packet.data(), packet.size());
    return;
  }
  std::string_view sql = packet.substr(my::kHeaderSize + 1);
  auto decision = decide_timed(started, sql, phase, cmd == my::kComStmtPrepare, rewrite::Dialect::Mysql);
  if (deps_.shadow && cmd == my::kComQuery) capture_read(sql, phase, decision);
  if (deps_.shadow && cmd == my::kComStmtPrepare) capture_prepare(sql, phase, decision);
  if (!decision) {
    out.forward(packet.data(), packet.size());
    return;
  }
  if (decision->action == rewrite::Decision::Action::Rewrite && decision->sql.size() + 1 >= my::kMaxPacketPayload)
    decision = unsupported_as_too_large(*decision, tenant_->cfg.on_unsupported);
  record_decision(*tenant_stats_, *decision, phase, client_addr_);
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

bool MySqlSession::idle_between_requests() const {
  const auto& tracker = static_cast<const MySqlBackend&>(*primary_).tracker;
  return !tracker.lost() && tracker.idle() && !tracker.client_uploading();
}

bool MySqlSession::idle_in_transaction() const {
  return static_cast<const MySqlBackend&>(*primary_).tracker.in_transaction();
}

void MySqlSession::end_idle(bool) {
  // As the server closes a session past its wait_timeout: no packet (an ERR
  // would need a client-range code, which libmariadb refuses from a server),
  // the connection just ends and the client library reports 2013 or 2006.
  // Closing the server connection rolls its open transaction back. The stage
  // tells the backend loop this is no lost server.
  stage_ = Stage::Closing;
  server().conn.close();
}

asio::awaitable<void> MySqlSession::pump_backend() {
  auto& srv = server();
  auto& scan = srv.scan;
  auto& tracker = srv.tracker;
  // OK and EOF packets are read whole so their status flags are always
  // there to see; everything else streams through.
  scan.inspect_all(false);
  scan.inspect_small(kWholeServerPacket);
  OutputBatch out;
  error_code ec;
  // What login() left in the buffer goes first, then each read.
  for (;;) {
    out.clear();
    for (;;) {
      auto view = srv.buf.unread();
      const bool packet_start = scan.at_boundary();
      auto step = scan.next(view);
      if (step.kind == my::PacketScanner::Kind::NeedMore) break;
      if (step.kind == my::PacketScanner::Kind::Error) {
        ec = asio::error::invalid_argument;
        break;
      }
      auto bytes = view.substr(0, step.size);
      srv.buf.consume(step.size);
      if (packet_start && !tracker.lost()) {
        tracker.server_packet(my::payload_length(bytes.data()), bytes.substr(my::kHeaderSize));
        if (auto reply = tracker.take_prepare_reply()) note_prepare_reply(reply->ok, reply->statement_id, reply->params);
        if (tracker.lost()) {
          log::Event(log::Level::info, "transaction_tracking_lost").str("client", client_addr_)
              .str("tenant", tenant_name_);
          stop_following_prepares();
        }
      }
      out.forward(bytes.data(), bytes.size());
    }
    if (!out.empty()) {
      maybe_fault("from_server");
      if (!co_await to_client_.send(out.buffers())) break;
    }
    if (!deferred_client_error_.empty() && tracker.idle()) {
      if (!co_await to_client_.send(std::exchange(deferred_client_error_, {}))) break;
    }
    if (ec) break;
    if (!srv.buf.make_room(MySqlBackend::kMaxHandshakePacket + my::kHeaderSize)) break;
    co_await srv.conn.read_into(srv.buf, ec);
    if (ec) break;
    note_activity();
  }
  if (!pending_client_error_.empty() && scan.at_boundary()) {
    to_client_.push(pending_client_error_);
  } else if (!frontend_done_ && pending_client_error_.empty() && stage_ != Stage::Closing) {
    bool said_why = scan.last_first_byte() == 0xff;
    if (!said_why) {
      // The client is told the way a server that went away tells it: the
      // connection closes, and its own library reports 2013 (mid-query) or
      // 2006 (idle). An ERR would need a client-range code, which
      // libmariadb refuses to read from a server.
      count_backend_error();
      log::Event(log::Level::err, "backend_lost").str("target", srv.target.name).str("address", srv.target.address.str())
          .str("client", client_addr_).str("error", ec.message());
    }
  }
  co_await end_after_server();
}

}  // namespace sy::proxy
