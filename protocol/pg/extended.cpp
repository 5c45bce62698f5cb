#include "protocol/pg/extended.h"

#include "protocol/common/bytes.h"
#include "protocol/pg/messages.h"

namespace sy::pg {

namespace {
std::optional<proto::ByteReader> body(std::string_view message, char type) {
  auto b = message_body(message, type);
  if (!b) return std::nullopt;
  return proto::ByteReader(*b);
}
}  // namespace

std::optional<ParseMessage> decode_parse(std::string_view message) {
  auto r = body(message, 'P');
  if (!r) return std::nullopt;
  ParseMessage p;
  auto name = r->cstr();
  auto sql = r->cstr();
  auto n = r->be16();
  if (!name || !sql || !n) return std::nullopt;
  p.statement = *name;
  p.sql = *sql;
  for (uint16_t i = 0; i < *n; ++i) {
    auto oid = r->be32();
    if (!oid) return std::nullopt;
    p.param_types.push_back(*oid);
  }
  if (!r->empty()) return std::nullopt;
  return p;
}

std::optional<BindMessage> decode_bind(std::string_view message) {
  auto r = body(message, 'B');
  if (!r) return std::nullopt;
  BindMessage b;
  auto portal = r->cstr();
  auto statement = r->cstr();
  auto nformats = r->be16();
  if (!portal || !statement || !nformats) return std::nullopt;
  b.portal = *portal;
  b.statement = *statement;
  std::vector<int16_t> formats;
  for (uint16_t i = 0; i < *nformats; ++i) {
    auto f = r->be16();
    if (!f || *f > 1) return std::nullopt;
    formats.push_back(static_cast<int16_t>(*f));
  }
  auto nvalues = r->be16();
  if (!nvalues) return std::nullopt;
  // No format codes: all text; one: it applies to all; else one per value.
  if (formats.size() > 1 && formats.size() != *nvalues) return std::nullopt;
  for (uint16_t i = 0; i < *nvalues; ++i) {
    auto len = r->be32();
    if (!len) return std::nullopt;
    if (*len == 0xffffffffu) {
      b.values.emplace_back(std::nullopt);
    } else {
      auto v = r->bytes(*len);
      if (!v) return std::nullopt;
      b.values.emplace_back(*v);
    }
    b.formats.push_back(formats.empty() ? 0 : formats.size() == 1 ? formats[0] : formats[i]);
  }
  // Result-column format codes follow: one for all, or one per column.
  auto nresults = r->be16();
  if (!nresults || r->remaining() != size_t(*nresults) * 2) return std::nullopt;
  for (uint16_t i = 0; i < *nresults; ++i) b.text_results = b.text_results && *r->be16() == 0;
  return b;
}

std::optional<std::string_view> closed_statement(std::string_view message) {
  auto r = body(message, 'C');
  if (!r) return std::nullopt;
  auto kind = r->bytes(1);
  auto name = r->cstr();
  if (!kind || !name || (*kind)[0] != 'S') return std::nullopt;
  return *name;
}

}  // namespace sy::pg
