// The login stage of a MySQL session, after the client hello went to the
// server: the authentication exchange relayed one whole packet at a time, up
// to the server's OK (logged in) or ERR. Written as one sequential loop, so
// the relay loops never ask whether login is done.
//
//   server packet ─► OK: logged in        ERR: its words, then the end
//                 ─► AuthMoreData 01 03 (fast auth done): the OK follows
//                 ─► anything else (AuthSwitchRequest, other AuthMoreData):
//                    the client answers it with one packet
//
// Sequence ids differ by seq_offset_ between the sides (an SSLRequest to the
// server, or the caching_sha2 bridge's own packets) and are renumbered here.
#include <openssl/crypto.h>

#include "protocol/mysql/handshake.h"
#include "protocol/mysql/packet.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/session/mysql/mysql_session.h"
#include "proxy/telemetry/log.h"

namespace sy::proxy {

namespace my = sy::mysql;

namespace {
constexpr uint32_t kMaxHandshakePacket = MySqlBackend::kMaxHandshakePacket;

bool is_fast_auth_success(std::string_view payload) { return payload.size() == 2 && payload[0] == 0x01 && payload[1] == 0x03; }
}  // namespace

asio::awaitable<bool> MySqlSession::login() {
  auto& srv = server();
  const auto& lcfg = deps_.listener->cfg;
  enum class Next { Server, Client } next = Next::Server;
  std::string packet;
  for (;;) {
    awaiting_target_ = next == Next::Server;
    if (next == Next::Client) {
      if (!co_await read_packet(client_, client_buf_, packet, lcfg.max_message_bytes)) {
        close_both();  // the client gave up: the server sees its side close
        co_return false;
      }
      login_reply_seq_ = static_cast<uint8_t>(my::sequence_id(packet.data()) + 1);
      if (sha2_bridge_ != Sha2Bridge::Off) {
        if (!co_await bridge_sha2_answer(std::move(packet))) break;
        // A plaintext client that was sent switchyard's key answers again,
        // with its encrypted password.
        next = sha2_bridge_ == Sha2Bridge::Password ? Next::Client : Next::Server;
        continue;
      }
      my::set_sequence_id(packet, static_cast<uint8_t>(my::sequence_id(packet.data()) + seq_offset_));
      error_code ec;
      co_await srv.conn.write(asio::buffer(packet), ec);
      if (ec) break;
      next = Next::Server;
      continue;
    }
    if (!co_await read_packet(srv.conn, srv.buf, packet, kMaxHandshakePacket)) break;
    auto payload = std::string_view(packet).substr(my::kHeaderSize);
    if (sha2_bridge_ == Sha2Bridge::ServerKey) {
      sha2_bridge_ = Sha2Bridge::Off;
      if (!payload.empty() && static_cast<uint8_t>(payload[0]) == 0x01) {  // AuthMoreData: the key
        if (!co_await send_bridged_password(payload.substr(1), my::sequence_id(packet.data()))) break;
        continue;  // the server's verdict comes next
      }
      wipe_bridged_password();
      seq_offset_ -= 2;  // an error in place of the key answers the client's password itself
    }
    my::set_sequence_id(packet, static_cast<uint8_t>(my::sequence_id(packet.data()) - seq_offset_));
    payload = std::string_view(packet).substr(my::kHeaderSize);
    if (auto sw = my::parse_auth_switch(payload)) {
      auth_plugin_ = sw->plugin;
      nonce_ = sw->data;
    }
    const auto first = payload.empty() ? 0xff : static_cast<uint8_t>(payload[0]);
    if (first == 0x00 || first == 0xff) {
      // OK: logged in, and from here on both sides count from 0 per command.
      // ERR: wrong password, unknown database ...: the server's own words.
      if (!co_await to_client_.send(packet)) break;
      if (first == 0x00) co_return true;
      co_await end_after_server();
      co_return false;
    }
    if (auth_plugin_ == my::kCachingSha2Password && my::is_sha2_full_auth_request(payload) &&
        client_.is_tls() != srv.conn.is_tls()) {
      // TLS on one side only: switchyard does the other half of full
      // authentication, taking the client's answer in bridge_sha2_answer.
      sha2_bridge_ = srv.conn.is_tls() ? Sha2Bridge::KeyOrPassword : Sha2Bridge::ClientPassword;
    }
    if (!co_await to_client_.send(packet)) break;
    next = is_fast_auth_success(payload) ? Next::Server : Next::Client;
  }
  // The login could not go on: a refusal the bridge prepared, or a side that went away.
  wipe_bridged_password();
  if (stage_ == Stage::Closing) co_return false;
  if (!pending_client_error_.empty()) {
    co_await send_and_close(std::exchange(pending_client_error_, {}));
    co_return false;
  }
  close_both();
  co_return false;
}

asio::awaitable<bool> MySqlSession::bridge_sha2_answer(std::string packet) {
  auto& srv = server();
  error_code ec;
  const auto seq = my::sequence_id(packet.data());
  std::string_view answer = std::string_view(packet).substr(my::kHeaderSize);
  if (sha2_bridge_ == Sha2Bridge::ClientPassword) {
    bridged_password_.assign(answer);
    OPENSSL_cleanse(packet.data(), packet.size());
    co_await srv.conn.write(asio::buffer(my::encode_packet(static_cast<uint8_t>(seq + seq_offset_), "\x02")),
                            ec);  // request the public key
    seq_offset_ += 2;  // the key and our encrypted answer never reach the client
    sha2_bridge_ = Sha2Bridge::ServerKey;
    co_return !ec;
  }
  const auto& key = *deps_.listener->sha2_key;
  if (sha2_bridge_ == Sha2Bridge::KeyOrPassword && answer == "\x02") {
    seq_offset_ -= 2;  // the request and the key never reach the server
    sha2_bridge_ = Sha2Bridge::Password;
    co_return co_await to_client_.send(my::encode_packet(static_cast<uint8_t>(seq + 1), "\x01" + key.public_pem()));
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
  auto to_server = my::encode_packet(static_cast<uint8_t>(seq + seq_offset_), *password);
  OPENSSL_cleanse(password->data(), password->size());
  co_await srv.conn.write(asio::buffer(to_server), ec);
  OPENSSL_cleanse(to_server.data(), to_server.size());
  co_return !ec;
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
                         "target \"" + server().target.name + "\" sent no usable RSA public key for caching_sha2_password");
    co_return false;
  }
  error_code ec;
  co_await server().conn.write(asio::buffer(my::encode_packet(static_cast<uint8_t>(server_seq + 1), *encrypted)), ec);
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

std::string MySqlSession::target_login_timeout_error(const std::string& message) const {
  return my::encode_err(login_reply_seq_, my::kErConnectToForeignDataSource, "HY000", message);
}

}  // namespace sy::proxy
