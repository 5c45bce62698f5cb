#pragma once
// Byte-level edits of a statement text: insertions and replacements at
// offsets, applied in one pass so every byte no edit covers stays as it was.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::rewrite {

struct Edit {
  uint32_t at;      //!< byte offset in the original text
  uint32_t remove;  //!< bytes replaced (0 = pure insertion)
  std::string text;
};

//! Applies edits in offset order; edits at the same offset keep their order.
inline std::string apply_edits(std::string_view sql, std::vector<Edit> edits) {
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.at < b.at; });
  std::string out;
  size_t extra = 0;
  for (const auto& e : edits) extra += e.text.size();
  out.reserve(sql.size() + extra);
  uint32_t pos = 0;
  for (const auto& e : edits) {
    out.append(sql.substr(pos, e.at - pos));
    out.append(e.text);
    pos = std::max(pos, e.at + e.remove);
  }
  out.append(sql.substr(pos));
  return out;
}

}  // namespace sy::rewrite
