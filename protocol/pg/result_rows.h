#pragma once
// The rows of a result as the server sends them (DataRow, CommandComplete),
// decoded for a proxy that keeps a copy of what it relays: the shadow compare
// takes the client's own answer instead of reading it a second time.
// Socket-free; malformed input yields nullopt, never a throw.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::pg {

inline constexpr char kDataRow = 'D';
inline constexpr char kCommandComplete = 'C';

//! A whole DataRow ('D', header included): one value per column as the
//! server encoded it (text or binary, as the Bind asked); nullopt is NULL.
std::optional<std::vector<std::optional<std::string>>> decode_data_row(std::string_view message);

//! A whole CommandComplete ('C'): its tag (`SELECT 3`).
std::optional<std::string_view> command_tag(std::string_view message);

}  // namespace sy::pg
