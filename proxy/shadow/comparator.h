#pragma once
// The shadow comparator: are two answers to the same read the same answer,
// once the legacy side is seen in the unified value space?
//
// A column that carries a legacy status is compared as map(value) on both
// sides (an unmapped value as itself), never through reverse: maps are
// many-to-one, so "Shipped" and "Dispatched" are the same DISPATCHED. Other
// columns are normalised per kind (result_set.h). Rows are compared
//   - as a multiset when the query has no usable order;
//   - group by group when it is ordered by known output columns: rows tied
//     on the order key form a group, compared as a multiset, and under LIMIT
//     the last group may hold different members of the tie (only its size is
//     compared);
//   - by row count alone when a LIMIT (or OFFSET) cut an answer whose order
//     the comparator cannot see: which rows such a query returns is the
//     plan's choice, and the two forms may be planned differently;
// and `ignore` columns are left out. Pure and socket-free.
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/shadow/result_set.h"

namespace sy::shadow {

struct ColumnRule {
  //! legacy -> unified: the column holds a legacy status (nullptr: it does not).
  const std::unordered_map<std::string, std::string>* map = nullptr;
  bool ignore = false;
};

struct CompareOptions {
  std::vector<ColumnRule> columns;  //!< by output position; positions past the end use the defaults
  bool ordered = false;             //!< the query has an ORDER BY
  std::vector<size_t> order_keys;   //!< output positions it orders by; empty when not all are known
  bool limited = false;             //!< it has LIMIT/FETCH (or OFFSET)
  //! The LIMIT's value when known: answers shorter than it were not cut, so
  //! they compare in full.
  std::optional<size_t> limit;
  std::optional<size_t> key_column; //!< names rows in a diff ("id 42"): usually the primary key
  double float_tolerance = 1e-9;    //!< relative
  size_t max_diff_rows = 5;
};

struct CellDiff {
  std::string column;
  Value a, b;                   //!< as answered
  Value a_unified, b_unified;   //!< map(value) for a status column
};

struct RowDiff {
  std::string key;    //!< "id 42", or "row 3" without a key column
  std::string where;  //!< "both", "only a", "only b"
  std::vector<CellDiff> cells;
};

struct Comparison {
  bool equal = true;
  size_t rows_a = 0, rows_b = 0;
  std::string reason;          //!< why not equal, in a few words
  std::vector<RowDiff> diffs;  //!< the first differing rows

  //! `id 42: status 'Dispatched' → map DISPATCHED, unified DELIVERED; …`
  std::string describe(const std::string& a_name = "legacy", const std::string& b_name = "unified") const;
};

Comparison compare(const ResultSet& a, const ResultSet& b, const CompareOptions& options);

//! A value as the comparator sees it: normalised for its kind, or mapped for
//! a status column (exposed for the tests and the mismatch evidence).
Value normalise(const Value& v, ValueKind kind, const ColumnRule& rule);

}  // namespace sy::shadow
