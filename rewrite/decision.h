#pragma once
// What the rewriter decided about one statement text (a Query or Parse body).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sy::rewrite {

//! Per-migration outcome; the `outcome` label of switchyard_rewrites_total.
enum class Outcome {
  Rewritten,    //!< dual_write/cleanup: the unified assignment was added/substituted
  Observed,     //!< observe: it would have been rewritten
  Unmapped,     //!< a literal legacy value outside the map (the unmapped policy applied)
  Unsupported,  //!< the statement writes the column in a way that cannot be rewritten safely
  Rejected,     //!< refused by `unmapped: reject` or `on_unsupported: reject`
  ReadSwitched,     //!< read_switch/cleanup: reads of the legacy column now see reverse(unified)
  ReadUnsupported,  //!< it reads the legacy column in a shape the read switch cannot serve: forwarded unchanged
};
inline constexpr size_t kOutcomeCount = static_cast<size_t>(Outcome::ReadUnsupported) + 1;

const char* to_string(Outcome o);

struct MigrationEvent {
  std::string migration;
  std::string table;
  Outcome outcome = Outcome::Rewritten;
  std::string legacy;     //!< the literal written, or the expression text
  std::string unified;    //!< the mapped literal, or "CASE" for an expression
  bool literal = false;   //!< legacy/unified are values, not expressions
  std::string entity_id;  //!< when the statement pins one row (WHERE <entity_column> = literal)
  std::string reason;     //!< why unsupported or rejected
};

//! What the shadow comparator needs to know about a single top-level SELECT
//! whose reads the switch serves (set by the read switch, read phases only).
struct ReadShape {
  struct StatusOutput {
    size_t position;        //!< 0-based output column
    std::string migration;  //!< whose legacy column it is, as a bare column reference
  };
  //! Output columns that are a bare reference to a legacy column: compared in
  //! the unified space (map(value) on both sides).
  std::vector<StatusOutput> status_outputs;
  //! Migrations whose legacy column the statement also reads in other ways
  //! (filters, expressions, subqueries, grouping, DISTINCT, ORDER BY on it):
  //! there legacy and legacy' agree only where reverse(map(legacy)) == legacy.
  std::vector<std::string> read_elsewhere;
  bool ordered = false;            //!< the top-level SELECT has an ORDER BY
  std::vector<size_t> order_keys;  //!< output positions it orders by; empty when one is not an output
  bool limited = false;            //!< LIMIT, FETCH or OFFSET
  int64_t limit = -1;              //!< a constant LIMIT (-1: none or not a constant)
  int limit_param = 0;             //!< LIMIT $n (0: not a parameter)
};

struct Decision {
  enum class Action {
    Forward,  //!< send the client's bytes unchanged
    Rewrite,  //!< send `sql` instead
  };
  Action action = Action::Forward;
  std::string sql;  //!< the rewritten text (also carries refusals: see PgRewriter)
  bool rejected = false;
  std::vector<MigrationEvent> events;
  std::string fingerprint;  //!< pg_query fingerprint, computed when there are events
  //! Set when the text is one top-level SELECT whose reads were switched.
  std::optional<ReadShape> read_shape;
};

}  // namespace sy::rewrite
