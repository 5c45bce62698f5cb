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

std::string quote_mysql_literal(std::string_view value) {
  bool plain = true;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\'' || c == '\\' || c == '"' || u < 0x20 || u == 0x7f) plain = false;
  }
  if (plain) return "'" + std::string(value) + "'";
  static const char* hex = "0123456789ABCDEF";
  std::string out = "_utf8mb4 X'";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(hex[u >> 4]);
    out.push_back(hex[u & 15]);
  }
  return out + "'";
}

std::string quote_mysql_ident(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  return out + "`";
}

std::string unquote_mysql_string(std::string_view t) {
  size_t q = t.find_first_of("'\"");
  if (q == std::string_view::npos || t.size() < q + 2) return std::string(t);
  char quote = t[q];
  std::string out;
  for (size_t i = q + 1; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (c == '\\' && i + 2 < t.size()) {
      char n = t[++i];
      switch (n) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case '0': out.push_back('\0'); break;
        case 'b': out.push_back('\b'); break;
        case 'Z': out.push_back('\x1a'); break;
        case '%':
        case '_':
          out.push_back('\\');  // outside LIKE, \% and \_ stay two characters
          out.push_back(n);
          break;
        default: out.push_back(n);  // \\, \', \" and unknown escapes
      }
      continue;
    }
    if (c == quote && i + 2 < t.size() && t[i + 1] == quote) {
      out.push_back(quote);
      ++i;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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
