#include "protocol/pg/messages.h"

#include <vector>

#include "protocol/common/bytes.h"

namespace sy::pg {

namespace {
void field(proto::ByteWriter& w, char code, std::string_view value) {
  if (value.empty()) return;
  w.u8(static_cast<uint8_t>(code));
  w.cstr(value);
}
}  // namespace

std::optional<std::string_view> message_body(std::string_view message, char type) {
  if (message.size() < 5 || message[0] != type) return std::nullopt;
  if (proto::load_be32(message.data() + 1) != message.size() - 1) return std::nullopt;
  return message.substr(5);
}

std::string encode_error(const ErrorFields& f) {
  std::string out;
  proto::ByteWriter w(out);
  w.u8(static_cast<uint8_t>(kErrorResponse));
  w.be32(0);
  field(w, 'S', f.severity);
  field(w, 'V', f.severity);
  field(w, 'C', f.sqlstate);
  field(w, 'M', f.message);
  field(w, 'D', f.detail);
  field(w, 'H', f.hint);
  w.u8(0);
  w.patch_be32(1, uint32_t(out.size() - 1));
  return out;
}

std::optional<CancelKey> decode_backend_key(std::string_view message) {
  auto body = message_body(message, kBackendKeyData);
  if (!body || body->size() != 8) return std::nullopt;
  proto::ByteReader r(*body);
  return CancelKey{*r.be32(), *r.be32()};
}

std::string encode_cancel_request(CancelKey key) {
  std::string out;
  proto::ByteWriter w(out);
  w.be32(16);
  w.be32(kCancelRequestCode);
  w.be32(key.pid);
  w.be32(key.secret);
  return out;
}

std::optional<uint32_t> auth_code(std::string_view message) {
  auto body = message_body(message, kAuthentication);
  if (!body) return std::nullopt;
  proto::ByteReader r(*body);
  return r.be32();
}

std::optional<std::string> strip_channel_binding(std::string_view message) {
  auto body = message_body(message, kAuthentication);
  if (!body) return std::nullopt;
  proto::ByteReader r(*body);
  if (r.be32() != kAuthSasl) return std::nullopt;
  std::vector<std::string_view> kept;
  bool removed = false;
  for (;;) {
    auto mech = r.cstr();
    if (!mech) return std::nullopt;
    if (mech->empty()) break;
    if (mech->ends_with("-PLUS"))
      removed = true;
    else
      kept.push_back(*mech);
  }
  if (!removed) return std::nullopt;
  std::string out;
  proto::ByteWriter w(out);
  w.u8(static_cast<uint8_t>(kAuthentication));
  w.be32(0);
  w.be32(kAuthSasl);
  for (auto m : kept) w.cstr(m);
  w.u8(0);
  w.patch_be32(1, uint32_t(out.size() - 1));
  return out;
}

}  // namespace sy::pg

namespace sy::pg {

std::optional<StatementText> statement_text(std::string_view message) {
  if (message.size() < 5 || (message[0] != kQuery && message[0] != kParse)) return std::nullopt;
  auto body = message.substr(5);
  StatementText t;
  size_t start = 0;
  if (message[0] == kParse) {
    auto nul = body.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    start = nul + 1;
    t.prefix = body.substr(0, start);
  }
  auto nul = body.find('\0', start);
  if (nul == std::string_view::npos) return std::nullopt;
  t.sql = body.substr(start, nul - start);
  t.suffix = body.substr(nul + 1);
  return t;
}

std::string with_statement_text(char type, const StatementText& parts, std::string_view sql) {
  std::string out;
  out.reserve(parts.prefix.size() + sql.size() + parts.suffix.size() + 6);
  proto::ByteWriter w(out);
  w.u8(static_cast<uint8_t>(type));
  w.be32(0);
  w.bytes(parts.prefix);
  w.cstr(sql);
  w.bytes(parts.suffix);
  w.patch_be32(1, uint32_t(out.size() - 1));
  return out;
}

}  // namespace sy::pg
