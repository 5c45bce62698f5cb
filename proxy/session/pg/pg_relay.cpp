// The relay stage of a PostgreSQL session: client -> server (statements of a
// tenant's session go through its rewriter) and server -> client (through the
// client's one writer), until either side ends.
#include "protocol/pg/extended.h"
#include "protocol/pg/messages.h"
#include "proxy/net/output_batch.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/session/pg/pg_session.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/telemetry/log.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

namespace {
std::string_view slice(std::string_view s, size_t n) { return s.substr(0, n); }
}  // namespace

asio::awaitable<void> PgSession::pump_frontend() {
  const auto& lcfg = deps_.listener->cfg;
  pg::FrameScanner scan(lcfg.max_message_bytes);
  scan.inspect(pg::kQuery);
  scan.inspect(pg::kParse);
  scan.inspect(pg::kTerminate);
  if (tenant_) scan.inspect(pg::kExecute);  // counted for statements_total
  if (tenant_) scan.inspect_if_small(pg::kBind, kShadowBindLimit);  // parameters for shadow reads
  const size_t limit = size_t(lcfg.max_message_bytes) + 5;
  OutputBatch out;
  error_code ec;
  for (;;) {
    out.clear();
    bool terminated = false;
    for (;;) {
      auto view = client_buf_.unread();
      const bool message_start = scan.at_boundary();
      auto step = scan.next(view);
      if (step.kind == pg::FrameScanner::Kind::NeedMore) break;
      if (step.kind == pg::FrameScanner::Kind::Error) {
        log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("error", step.error);
        if (!out.empty()) co_await server().conn.write(out.buffers(), ec);
        frontend_done_ = true;
        fail_session("switchyard: " + step.error);
        co_return;
      }
      auto bytes = slice(view, step.size);
      client_buf_.consume(step.size);
      if (message_start && server().requests) track_client_message(bytes);
      if (tenant_ && step.type == pg::kBind && !shadow_statements_.empty()) {
        if (step.kind == pg::FrameScanner::Kind::Message) capture_bind(bytes);
        else if (message_start) capture_large_bind(bytes);
      }
      if (step.kind == pg::FrameScanner::Kind::Message) {
        terminated = terminated || step.type == pg::kTerminate;
        if (tenant_ && step.type == pg::kExecute) tenant_stats_->statements_extended().fetch_add(1, std::memory_order_relaxed);
        if (tenant_ && (step.type == pg::kQuery || step.type == pg::kParse)) {
          rewrite_message(bytes, out);
          continue;
        }
      }
      out.forward(bytes.data(), bytes.size());
    }
    if (!out.empty()) {
      maybe_fault("from_client");
      co_await server().conn.write(out.buffers(), ec);
      if (ec) break;
    }
    if (terminated) break;
    if (!client_buf_.make_room(limit)) break;  // unreachable: the scanner rejects longer messages first
    co_await client_.read_into(client_buf_, ec);
    if (ec) break;
    note_activity();
  }
  end_after_client();
}

asio::awaitable<void> PgSession::pump_backend() {
  auto& srv = server();
  // Only ReadyForQuery is read, and only for a tenant's session or one with
  // an idle timeout: its status says whether a transaction is open.
  // Everything else streams through.
  srv.scan.inspect_none();
  if (tenant_ || idle_timeouts_on()) srv.scan.inspect(pg::kReadyForQuery);
  OutputBatch out;
  error_code ec;
  // What login() left in the buffer goes first, then each read.
  for (;;) {
    out.clear();
    for (;;) {
      auto view = srv.buf.unread();
      const bool message_start = srv.scan.at_boundary();
      auto step = srv.scan.next(view);
      if (step.kind == pg::FrameScanner::Kind::NeedMore) break;
      if (step.kind == pg::FrameScanner::Kind::Error) {
        log::Event(log::Level::err, "backend_protocol_error").str("target", srv.target.name).str("error", step.error);
        ec = asio::error::invalid_argument;
        break;
      }
      auto bytes = slice(view, step.size);
      srv.buf.consume(step.size);
      if (message_start && srv.requests) {
        auto reply = track_server_message(bytes);
        if (kept_answer_) answer_reply(reply, bytes, step.kind == pg::FrameScanner::Kind::Message);
      }
      if (step.kind == pg::FrameScanner::Kind::Message && step.type == pg::kReadyForQuery && bytes.size() == 6)
        srv.in_transaction = bytes[5] != 'I';
      out.forward(bytes.data(), bytes.size());
    }
    if (!out.empty()) {
      maybe_fault("from_server");
      if (!co_await to_client_.send(out.buffers())) break;
    }
    if (ec) break;
    if (!srv.buf.make_room(PgBackend::kMaxInspected + 5)) break;
    co_await srv.conn.read_into(srv.buf, ec);
    if (ec) break;
    note_activity();
  }
  if (!pending_client_error_.empty() && srv.scan.at_boundary()) {
    to_client_.push(pending_client_error_);
  } else if (!frontend_done_ && pending_client_error_.empty() && stage_ != Stage::Closing) {
    if (srv.scan.at_boundary() && srv.scan.last_type() == pg::kErrorResponse) {
      // The server ended the session itself and said why (pg_terminate_backend,
      // idle_session_timeout ...): that message stands on its own.
      log::Event(log::Level::debug, "backend_closed_after_error").str("target", srv.target.name)
          .str("client", client_addr_);
    } else {
      count_backend_error();
      log::Event(log::Level::err, "backend_lost").str("target", srv.target.name).str("address", srv.target.address.str())
          .str("client", client_addr_).str("error", ec.message());
      if (srv.scan.at_boundary())
        to_client_.push(pg::encode_error({.severity = "FATAL",
                                          .sqlstate = pg::sqlstate::kConnectionFailure,
                                          .message = "switchyard: lost connection to target \"" + srv.target.name +
                                                     "\" at " + srv.target.address.str() + ": " + ec.message()}));
    }
  }
  co_await end_after_server();
}

// A session bound to a tenant at login pairs each request with its replies:
// what read routing and shadow reads need to know before they may use another
// backend. It follows the whole session, whatever reloads later do to the
// tenant, since a message it missed would leave it wrong. A plain relay (no
// tenant) has no use for it and skips the cost. Bind and Describe
// stream through in pieces (a Bind may carry megabytes of parameters); their
// first piece holds the names, and a name split across reads is only cut.
void PgSession::track_client_message(std::string_view first_piece) {
  auto& requests = *server().requests;
  if (requests.lost()) return;
  auto sent = requests.client_message(first_piece);
  if (requests.lost()) return log_tracking_lost();
  if (!sent.request) return;
  last_request_ = sent.request->id;
  if (kept_answer_) answer_request_sent(*sent.request, sent.finished);
}

pg::Reply PgSession::track_server_message(std::string_view first_piece) {
  auto& requests = *server().requests;
  if (requests.lost()) return {};
  auto reply = requests.server_message(first_piece);
  if (requests.lost()) log_tracking_lost();
  return reply;
}

void PgSession::log_tracking_lost() {
  // Once per session: from here on the session only stays on its primary.
  log::Event(log::Level::info, "request_tracking_lost").str("client", client_addr_).str("tenant", tenant_name_)
      .str("reason", server().requests->lost_reason());
}

bool PgSession::idle_between_requests() const {
  const auto& requests = static_cast<const PgBackend&>(*primary_).requests;
  return requests && requests->idle();
}

bool PgSession::idle_in_transaction() const { return static_cast<const PgBackend&>(*primary_).in_transaction; }

void PgSession::end_idle(bool in_transaction) {
  // The server's words and codes. Closing the server connection rolls its
  // open transaction back, as the server's own timeout would.
  pending_client_error_ = pg::encode_error(
      {.severity = "FATAL",
       .sqlstate = in_transaction ? pg::sqlstate::kIdleInTransactionTimeout : pg::sqlstate::kIdleSessionTimeout,
       .message = in_transaction ? "terminating connection due to idle-in-transaction timeout"
                                 : "terminating connection due to idle-session timeout"});
  server().conn.close();
}

void PgSession::fail_session(std::string error_message) {
  pending_client_error_ = pg::encode_error(
      {.severity = "FATAL", .sqlstate = pg::sqlstate::kProtocolViolation, .message = error_message});
  server().conn.close();
}

std::string PgSession::session_key() const {
  // A session is its client endpoint plus the server process serving it.
  auto& key = static_cast<const PgBackend&>(*primary_).cancel_key;
  return client_addr_ + "/" + std::to_string(key ? key->pid : 0);
}

void PgSession::rewrite_message(std::string_view message, OutputBatch& out) {
  const bool extended = message[0] == pg::kParse;
  if (!extended) tenant_stats_->statements_simple().fetch_add(1, std::memory_order_relaxed);
  auto started = std::chrono::steady_clock::now();
  auto phase = statement_phase(server().in_transaction);
  auto text = pg::statement_text(message);
  if (phase == config::Phase::Off || !text) {
    out.forward(message.data(), message.size());  // a malformed body is the server's to reject
    return;
  }
  auto decision = decide_timed(started, text->sql, phase, extended, rewrite::Dialect::Postgres);
  if (deps_.shadow) capture_read(message, text->sql, phase, decision);
  if (!decision) {
    out.forward(message.data(), message.size());
    return;
  }
  record_decision(*tenant_stats_, *decision, phase, client_addr_);
  if (decision->action == rewrite::Decision::Action::Rewrite)
    out.replace(pg::with_statement_text(message[0], *text, decision->sql));
  else
    out.forward(message.data(), message.size());
}

}  // namespace sy::proxy
