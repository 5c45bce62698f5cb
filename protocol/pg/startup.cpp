#include "protocol/pg/startup.h"

#include "protocol/common/bytes.h"

namespace sy::pg {

std::string_view StartupPacket::param(std::string_view key) const {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return {};
}

namespace {
StartupDecode fail(std::string why) {
  StartupDecode d;
  d.status = DecodeStatus::Error;
  d.error = std::move(why);
  return d;
}
}  // namespace

StartupDecode decode_startup(std::string_view in) {
  StartupDecode d;
  if (in.size() < 4) return d;
  uint32_t len = proto::load_be32(in.data());
  if (len < 8 || len > kMaxStartupPacket)
    return fail("invalid startup packet length " + std::to_string(len));
  if (in.size() < len) return d;

  proto::ByteReader r(in.substr(4, len - 4));
  uint32_t code = *r.be32();
  d.consumed = len;
  d.packet.protocol = code;
  switch (code) {
    case kSslRequestCode:
    case kGssEncRequestCode:
      if (len != 8) return fail("invalid encryption request length");
      d.packet.kind = code == kSslRequestCode ? StartupKind::SslRequest : StartupKind::GssEncRequest;
      d.status = DecodeStatus::Ok;
      return d;
    case kCancelRequestCode: {
      if (len != 16) return fail("invalid cancel request length");
      d.packet.kind = StartupKind::CancelRequest;
      d.packet.cancel.pid = *r.be32();
      d.packet.cancel.secret = *r.be32();
      d.status = DecodeStatus::Ok;
      return d;
    }
    default:
      break;
  }
  // Any 3.x minor version is accepted and passed on: the server answers with
  // NegotiateProtocolVersion itself, so the proxy need not understand it.
  if ((code >> 16) != 3) return fail("unsupported frontend protocol " + std::to_string(code >> 16) + "." +
                                     std::to_string(code & 0xffff));
  d.packet.kind = StartupKind::Startup;
  for (;;) {
    auto key = r.cstr();
    if (!key) return fail("startup packet is not NUL-terminated");
    if (key->empty()) break;
    auto value = r.cstr();
    if (!value) return fail("startup parameter \"" + std::string(*key) + "\" has no value");
    d.packet.params.emplace_back(*key, *value);
  }
  if (!r.empty()) return fail("trailing bytes after startup parameters");
  if (d.packet.param("user").empty()) return fail("no PostgreSQL user name specified in startup packet");
  d.status = DecodeStatus::Ok;
  return d;
}

std::string encode_startup(const StartupPacket& p) {
  std::string out;
  proto::ByteWriter w(out);
  w.be32(0);
  w.be32(p.protocol);
  for (const auto& [k, v] : p.params) {
    w.cstr(k);
    w.cstr(v);
  }
  w.u8(0);
  w.patch_be32(0, uint32_t(out.size()));
  return out;
}

std::string encode_ssl_request() {
  std::string out;
  proto::ByteWriter w(out);
  w.be32(8);
  w.be32(kSslRequestCode);
  return out;
}

std::string encode_gssenc_request() {
  std::string out;
  proto::ByteWriter w(out);
  w.be32(8);
  w.be32(kGssEncRequestCode);
  return out;
}

}  // namespace sy::pg
