#pragma once
// Decoders for the extended-protocol messages a shadow read replays: Parse
// (statement name, text, declared parameter types) and Bind (which statement,
// its parameter values with their formats). Byte-level, socket-free.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::pg {

inline constexpr char kBind = 'B';
inline constexpr char kClose = 'C';

struct ParseMessage {
  std::string_view statement;        //!< "" is the unnamed statement
  std::string_view sql;
  std::vector<uint32_t> param_types;  //!< OIDs as declared; 0 = left to the server
};

//! A whole Parse message ('P', header included); nullopt if malformed.
std::optional<ParseMessage> decode_parse(std::string_view message);

struct BindMessage {
  std::string_view portal;
  std::string_view statement;
  //! One per parameter: 0 text, 1 binary (the message's one-for-all and
  //! none-means-text forms are expanded).
  std::vector<int16_t> formats;
  std::vector<std::optional<std::string_view>> values;  //!< nullopt is NULL
  //! Every result column is asked for in text (no format codes, or all 0).
  bool text_results = true;
};

//! A whole Bind message ('B', header included); nullopt if malformed.
std::optional<BindMessage> decode_bind(std::string_view message);

//! The statement a whole Close message closes ('S'), if it closes one.
std::optional<std::string_view> closed_statement(std::string_view message);

}  // namespace sy::pg
