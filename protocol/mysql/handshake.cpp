#include "protocol/mysql/handshake.h"

#include "protocol/mysql/packet.h"

namespace sy::mysql {

namespace {

uint32_t le(std::string_view s, size_t at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint32_t(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

// Length-encoded integer; false if it runs past the end.
bool lenenc(std::string_view s, size_t& at, uint64_t& out) {
  if (at >= s.size()) return false;
  auto first = static_cast<unsigned char>(s[at++]);
  int n = 0;
  if (first < 0xfb) {
    out = first;
    return true;
  }
  if (first == 0xfc) n = 2;
  else if (first == 0xfd) n = 3;
  else if (first == 0xfe) n = 8;
  else return false;
  if (at + n > s.size()) return false;
  out = 0;
  for (int i = 0; i < n; ++i) out |= uint64_t(static_cast<unsigned char>(s[at + i])) << (8 * i);
  at += n;
  return true;
}

bool cstr(std::string_view s, size_t& at, std::string& out) {
  auto nul = s.find('\0', at);
  if (nul == std::string_view::npos) return false;
  out.assign(s.substr(at, nul - at));
  at = nul + 1;
  return true;
}

}  // namespace

std::optional<Greeting> parse_greeting(std::string_view p) {
  Greeting g;
  if (p.empty() || p[0] != 10) return std::nullopt;
  size_t at = 1;
  if (!cstr(p, at, g.server_version)) return std::nullopt;
  if (at + 4 + 8 + 1 + 2 > p.size()) return std::nullopt;
  g.connection_id = le(p, at, 4);
  g.scramble.assign(p.substr(at + 4, 8));
  at += 4 + 8 + 1;
  g.caps_low_at = at;
  g.capabilities = le(p, at, 2);
  at += 2;
  if (at + 1 + 2 + 2 + 1 + 10 <= p.size()) {
    at += 1 + 2;  // charset, status
    g.caps_high_at = at;
    g.capabilities |= le(p, at, 2) << 16;
    at += 2;
    uint8_t auth_len = static_cast<uint8_t>(p[at]);
    at += 1 + 10;
    if (g.capabilities & kClientSecureConnection) {
      size_t part2 = std::max<int>(13, auth_len - 8);
      if (at + part2 > p.size()) return g;
      g.scramble.append(p.substr(at, part2 - 1));  // the last byte is a NUL
      at += part2;
    }
    if ((g.capabilities & kClientPluginAuth) && at < p.size()) cstr(p, at, g.auth_plugin);
  }
  return g;
}

void set_greeting_capabilities(std::string& p, const Greeting& g, uint32_t caps) {
  p[g.caps_low_at] = static_cast<char>(caps & 0xff);
  p[g.caps_low_at + 1] = static_cast<char>((caps >> 8) & 0xff);
  if (g.caps_high_at) {
    p[g.caps_high_at] = static_cast<char>((caps >> 16) & 0xff);
    p[g.caps_high_at + 1] = static_cast<char>((caps >> 24) & 0xff);
  }
}

std::optional<ClientHello> parse_client_hello(std::string_view p) {
  ClientHello h;
  if (p.size() < 32) return std::nullopt;
  h.capabilities = le(p, 0, 4);
  if (!(h.capabilities & kClientProtocol41)) return std::nullopt;  // 4.0-era clients are not relayed
  if (p.size() == 32) {
    h.ssl_request = (h.capabilities & kClientSsl) != 0;
    return h.ssl_request ? std::optional(h) : std::nullopt;
  }
  size_t at = 32;
  if (!cstr(p, at, h.user)) return std::nullopt;
  uint64_t n = 0;
  if (h.capabilities & kClientPluginAuthLenencData) {
    if (!lenenc(p, at, n)) return std::nullopt;
  } else if (h.capabilities & kClientSecureConnection) {
    if (at >= p.size()) return std::nullopt;
    n = static_cast<unsigned char>(p[at++]);
  } else {
    std::string ignored;
    if (!cstr(p, at, ignored)) return std::nullopt;
  }
  if (at + n > p.size()) return std::nullopt;
  at += n;
  if ((h.capabilities & kClientConnectWithDb) && at < p.size() && !cstr(p, at, h.database)) return std::nullopt;
  if ((h.capabilities & kClientPluginAuth) && at < p.size() && !cstr(p, at, h.auth_plugin)) return std::nullopt;
  if ((h.capabilities & kClientConnectAttrs) && at < p.size()) {
    uint64_t total = 0;
    // Lengths are compared as "more than what is left": a 64-bit length
    // added to the offset could wrap around and walk the loop backwards.
    if (!lenenc(p, at, total) || total > p.size() - at) return h;  // attributes are optional to us
    size_t end = at + total;
    while (at < end) {
      uint64_t kl = 0, vl = 0;
      if (!lenenc(p, at, kl) || at > end || kl > end - at) break;
      std::string key(p.substr(at, kl));
      at += kl;
      if (!lenenc(p, at, vl) || at > end || vl > end - at) break;
      if (key == "program_name") h.program_name.assign(p.substr(at, vl));
      at += vl;
    }
  }
  return h;
}

void set_hello_capabilities(std::string& p, uint32_t caps) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((caps >> (8 * i)) & 0xff);
}

std::string ssl_request_from(std::string_view hello) {
  std::string out(hello.substr(0, 32));
  set_hello_capabilities(out, le(out, 0, 4) | kClientSsl);
  return out;
}

std::optional<AuthSwitch> parse_auth_switch(std::string_view p) {
  if (p.empty() || static_cast<uint8_t>(p[0]) != 0xfe) return std::nullopt;
  AuthSwitch sw;
  size_t at = 1;
  if (at == p.size()) return sw;  // the pre-4.1 "old password" switch: no plugin named
  if (!cstr(p, at, sw.plugin)) return std::nullopt;
  auto data = p.substr(at);
  if (!data.empty() && data.back() == '\0') data.remove_suffix(1);
  sw.data.assign(data);
  return sw;
}

bool is_sha2_full_auth_request(std::string_view p) {
  return p.size() == 2 && static_cast<uint8_t>(p[0]) == 0x01 && static_cast<uint8_t>(p[1]) == 0x04;
}

}  // namespace sy::mysql
