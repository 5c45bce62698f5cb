#include "rewrite/sql_text.h"

#include <algorithm>
#include <cctype>

namespace sy::rewrite {

std::string quote_literal(std::string_view value) {
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out;
  out.reserve(value.size() + 3);
  if (backslash) out.push_back('E');
  out.push_back('\'');
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool contains_ci(std::string_view haystack, std::string_view lower_needle) {
  if (lower_needle.empty()) return true;
  if (haystack.size() < lower_needle.size()) return false;
  const char first = lower_needle[0];
  const size_t last = haystack.size() - lower_needle.size();
  for (size_t i = 0; i <= last; ++i) {
    if ((haystack[i] | 0x20) != first) continue;
    size_t k = 1;
    while (k < lower_needle.size() &&
           std::tolower(static_cast<unsigned char>(haystack[i + k])) == lower_needle[k])
      ++k;
    if (k == lower_needle.size()) return true;
  }
  return false;
}

}  // namespace sy::rewrite
