#pragma once
// A legacy value as a statement writes it, whatever the dialect: what the
// rewriter maps, logs and places its unified counterpart next to.
#include <cstdint>
#include <string>
#include <string_view>

namespace sy::rewrite {

struct Value {
  enum class Kind { Literal, Null, Default, Expr } kind = Kind::Expr;
  std::string literal;          //!< decoded value of a literal
  uint32_t begin = 0, end = 0;  //!< its bytes in the statement text
  bool has_param = false;       //!< a placeholder ($n or ?) is part of it

  //! The value as the statement spells it.
  std::string_view text(std::string_view sql) const { return sql.substr(begin, end - begin); }
};

}  // namespace sy::rewrite
