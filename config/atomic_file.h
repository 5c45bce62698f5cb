#pragma once
// Replaces a small file so that a reader (or a restart after a crash or power
// loss) sees either the old contents or the new, never a mix or an empty file.
#include <optional>
#include <string>
#include <string_view>

namespace sy::config {

//! Writes `contents` to `<path>.tmp` in the same directory, fsyncs it, renames
//! it over `path` and fsyncs the directory. Returns what failed, or nothing;
//! before the rename a failure leaves `path` as it was.
[[nodiscard]] std::optional<std::string> write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace sy::config
