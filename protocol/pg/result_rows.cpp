#include "protocol/pg/result_rows.h"

#include "protocol/common/bytes.h"
#include "protocol/pg/messages.h"

namespace sy::pg {

std::optional<std::vector<std::optional<std::string>>> decode_data_row(std::string_view message) {
  auto b = message_body(message, kDataRow);
  if (!b) return std::nullopt;
  auto r = proto::ByteReader(*b);
  auto n = r.be16();
  if (!n) return std::nullopt;
  std::vector<std::optional<std::string>> row;
  row.reserve(*n);
  for (uint16_t i = 0; i < *n; ++i) {
    auto len = r.be32();
    if (!len) return std::nullopt;
    if (*len == 0xffffffffu) {
      row.emplace_back(std::nullopt);
      continue;
    }
    auto v = r.bytes(*len);
    if (!v) return std::nullopt;
    row.emplace_back(std::string(*v));
  }
  if (!r.empty()) return std::nullopt;
  return row;
}

std::optional<std::string_view> command_tag(std::string_view message) {
  auto b = message_body(message, kCommandComplete);
  if (!b) return std::nullopt;
  auto r = proto::ByteReader(*b);
  auto tag = r.cstr();
  if (!tag || !r.empty()) return std::nullopt;
  return tag;
}

}  // namespace sy::pg
