// The login stage of a PostgreSQL session: the server's authentication
// exchange relayed one whole message at a time, in the order the protocol
// fixes, up to the first ReadyForQuery. Written as one sequential loop (not
// inside the relay loops) so the relay never has to ask whether login is done.
//
//   server: Authentication request ─► client answers it ─► server: next request
//           ... AuthenticationOk, ParameterStatus*, BackendKeyData, ReadyForQuery
//
// Requests the client must answer: cleartext (3), MD5 (5), SASL (10) and
// SASLContinue (11). SASLFinal (12) and Ok (0) need no answer. GSSAPI and SSPI
// (7, 8, 9) are refused: after GSSContinue only the client's GSS library
// knows whether it answers, so no proxy can relay it message by message, and
// a Kerberos ticket names the server's host, not the proxy's.
#include "protocol/pg/messages.h"
#include "proxy/session/cancel_registry.h"
#include "proxy/session/pg/pg_session.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/telemetry/log.h"

namespace sy::proxy {

namespace {

enum class LoginStep {
  AwaitServer,       //!< the server's next message
  AwaitClientAnswer, //!< the client's answer to an authentication request
  Ready,             //!< ReadyForQuery: logged in
  Failed,            //!< ErrorResponse, or an exchange the proxy cannot relay
};

//! What comes after an Authentication message with this code.
LoginStep after_auth_request(uint32_t code) {
  switch (code) {
    case 3:   // cleartext password
    case 5:   // MD5
    case 10:  // SASL: the client picks a mechanism
    case 11:  // SASLContinue
      return LoginStep::AwaitClientAnswer;
    case 0:   // Ok
    case 12:  // SASLFinal
      return LoginStep::AwaitServer;
    default:
      return LoginStep::Failed;
  }
}

//! Reads one whole message into `out`, every type inspected. False on EOF, a
//! socket error or a message the scanner rejects (`error` then says why).
asio::awaitable<bool> read_message(Conn& conn, ByteBuffer& buf, pg::FrameScanner& scan, std::string& out,
                                   std::string& error) {
  for (;;) {
    auto step = scan.next(buf.unread());
    if (step.kind == pg::FrameScanner::Kind::Error) {
      error = step.error;
      co_return false;
    }
    if (step.kind != pg::FrameScanner::Kind::NeedMore) {
      out.assign(buf.unread().substr(0, step.size));
      buf.consume(step.size);
      co_return true;
    }
    if (!buf.make_room(scan.max_inspected() + size_t(5))) {
      error = "message too long";
      co_return false;
    }
    error_code ec;
    co_await conn.read_into(buf, ec);
    if (ec) {
      error = ec.message();
      co_return false;
    }
  }
}

void inspect_every_type(pg::FrameScanner& scan) {
  for (int t = 0; t < 256; ++t) scan.inspect(static_cast<char>(t));
}

}  // namespace

asio::awaitable<bool> PgSession::login() {
  auto& srv = server();
  const auto& lcfg = deps_.listener->cfg;
  inspect_every_type(srv.scan);
  pg::FrameScanner client_scan(lcfg.max_message_bytes);
  inspect_every_type(client_scan);
  std::string message, error;
  LoginStep step = LoginStep::AwaitServer;
  for (;;) {
    awaiting_target_ = step != LoginStep::AwaitClientAnswer;
    if (step == LoginStep::AwaitClientAnswer) {
      if (!co_await read_message(client_, client_buf_, client_scan, message, error)) {
        if (!error.empty() && error != "End of file")
          log::Event(log::Level::warn, "protocol_error").str("client", client_addr_).str("phase", "login")
              .str("error", error);
        close_both();  // the client gave up (or sent garbage): the server sees its side close
        co_return false;
      }
      error_code ec;
      co_await srv.conn.write(asio::buffer(message), ec);
      if (ec || message[0] == pg::kTerminate) break;
      step = LoginStep::AwaitServer;
      continue;
    }
    if (!co_await read_message(srv.conn, srv.buf, srv.scan, message, error)) break;
    std::string_view bytes = message;
    switch (bytes[0]) {
      case pg::kAuthentication: {
        auto code = pg::auth_code(bytes).value_or(~0u);
        step = after_auth_request(code);
        if (step == LoginStep::Failed) {
          log::Event(log::Level::warn, "auth_refused").str("listener", lcfg.name).str("client", client_addr_)
              .str("user", user_).num("auth_request", code).str("reason", "authentication method not relayable");
          co_await refuse("28000", "switchyard: the server asked for an authentication method switchyard cannot "
                                   "relay (request " + std::to_string(code) + "); use SCRAM, MD5 or password");
          co_return false;
        }
        // tls-server-end-point binding data only passes when the client sees
        // the certificate the server has (pg_session.cpp, connect_backend).
        if (code == pg::kAuthSasl && !(srv.channel_binding_passthrough && client_.is_tls())) {
          if (auto stripped = pg::strip_channel_binding(bytes)) message = std::move(*stripped);
        }
        break;
      }
      case pg::kBackendKeyData:
        srv.cancel_key = pg::decode_backend_key(bytes);
        if (srv.cancel_key) deps_.cancels->add(*srv.cancel_key, srv.target.address);
        break;
      case pg::kReadyForQuery:
        if (bytes.size() == 6) srv.in_transaction = bytes[5] != 'I';
        step = LoginStep::Ready;
        break;
      case pg::kErrorResponse:
        // Wrong password, unknown database, too many connections: the
        // server's own words, then it closes.
        step = LoginStep::Failed;
        break;
      default:  // ParameterStatus, NoticeResponse, NegotiateProtocolVersion
        break;
    }
    if (!co_await to_client_.send(message)) {
      close_both();
      co_return false;
    }
    if (step == LoginStep::Ready) co_return true;
    if (step == LoginStep::Failed) {
      co_await end_after_server();
      co_return false;
    }
  }
  // The server went away (or sent what cannot be read) in the middle of the login.
  if (stage_ == Stage::Closing) co_return false;  // the login deadline or a crash closed both sides
  if (!pending_client_error_.empty()) {
    co_await send_and_close(std::exchange(pending_client_error_, {}));
    co_return false;
  }
  count_backend_error();
  log::Event(log::Level::err, "backend_lost").str("target", srv.target.name).str("address", srv.target.address.str())
      .str("client", client_addr_).str("stage", "login").str("error", error);
  co_await refuse(pg::sqlstate::kConnectionFailure, "switchyard: lost connection to target \"" + srv.target.name +
                                                        "\" during login: " + error);
  co_return false;
}

std::string PgSession::target_login_timeout_error(const std::string& message) const {
  return pg::encode_error({.severity = "FATAL", .sqlstate = pg::sqlstate::kCannotConnect, .message = message});
}

}  // namespace sy::proxy
