#pragma once
// The evidence of real mismatches: the last kCapacity of them, newest first,
// for GET /v1/mismatches. Shared by every worker; a mismatch is rare, so one
// mutex held for a push (or for rendering the list) is all it costs.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sy::shadow {

struct MismatchRecord {
  std::string at;  //!< UTC, ISO 8601 with milliseconds
  std::string tenant;
  std::string fingerprint;
  std::string sql;      //!< the statement as the client sent it
  std::string phase;    //!< the phase the client was served in
  std::string compared; //!< "legacy vs unified", or "primary vs <target>"
  //! Parameter values as text ("<binary N bytes>" for a binary one), or
  //! empty with params_redacted when log_parameters is off.
  std::vector<std::optional<std::string>> params;
  size_t param_count = 0;
  bool params_redacted = true;
  size_t rows_a = 0, rows_b = 0;
  std::vector<std::string> rows;  //!< the differing rows, by key ("id 42")
  std::string diff;               //!< the comparator's description
};

//! One record as a JSON object (the /v1/mismatches entry, and the members of
//! the STATUS_MISMATCH line).
std::string to_json(const MismatchRecord& r);

class MismatchLog {
 public:
  static constexpr size_t kCapacity = 1000;

  void push(MismatchRecord r);
  //! {"mismatches": [...]}, newest first; `tenant` filters when not empty.
  std::string json(const std::string& tenant = {}) const;
  uint64_t total() const;
  //! The newest `n` records of `tenant` (the status page).
  std::vector<MismatchRecord> latest(const std::string& tenant, size_t n) const;

 private:
  mutable std::mutex mu_;
  std::deque<MismatchRecord> records_;  //!< newest at the front
  uint64_t total_ = 0;
};

}  // namespace sy::shadow
