#pragma once
// The parameters of a COM_STMT_EXECUTE as the text protocol would spell them,
// so a shadow read can run the prepared statement's text again with the same
// values (proxy/backends/mysql_inline_params quotes and escapes them).
// Socket-free; nothing here throws.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::mysql {

struct ExecuteParams {
  uint32_t statement_id = 0;
  //! Each parameter's value: nullopt is NULL; numbers as decimal text,
  //! temporal values as 'YYYY-MM-DD HH:MM:SS[.ffffff]', strings as their bytes.
  std::vector<std::optional<std::string>> values;
  //! Per parameter: the value is a number (to be sent unquoted, which
  //! `LIMIT ?` needs), else a string literal.
  std::vector<bool> numeric;
  //! The parameter types in force (bound now, or by an earlier execute): two
  //! bytes each, MYSQL_TYPE_* and 0x80 for unsigned.
  std::vector<uint16_t> types;
};

//! The statement id of a COM_STMT_EXECUTE payload (command byte first), or nullopt.
std::optional<uint32_t> execute_statement_id(std::string_view payload);

//! Decodes a whole COM_STMT_EXECUTE payload (command byte first) of a
//! statement with `num_params` parameters; `bound_types` are the types an
//! earlier execute bound, used when this one binds none. nullopt when the
//! payload is malformed, when a type is needed and unknown, or when a value
//! has a type this cannot spell as text.
std::optional<ExecuteParams> decode_execute(std::string_view payload, uint16_t num_params,
                                            const std::vector<uint16_t>& bound_types);

}  // namespace sy::mysql
