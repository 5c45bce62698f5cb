#pragma once
// Where an INSERT's unified column and values go, the same in every dialect:
// the unified column joins the column list once, beside the legacy one (in
// cleanup: instead of it), and each row's unified value goes beside (instead
// of) that row's legacy value. The dialect says what an item's value is and
// how it maps; the walk over VALUES rows, its checks and its events are here.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rewrite/common/event_builder.h"
#include "rewrite/common/value.h"
#include "rewrite/migration_set.h"
#include "rewrite/sql_lexer.h"
#include "rewrite/statement_outcome.h"
#include "rewrite/text_edits.h"

namespace sy::rewrite {

//! The legacy column of one migration in an INSERT's column list.
struct InsertColumn {
  const CompiledMigration* m = nullptr;
  std::string table;           //!< the table as events name it
  Token legacy{};              //!< the legacy column's token in the column list
  std::string quoted_unified;  //!< the unified column, quoted for the dialect
  size_t index = 0;            //!< the legacy column's position in the list
  size_t width = 0;            //!< how many columns the list has
};

//! An INSERT that leaves `m`'s legacy column to its column default (`how`:
//! left out of the column list, DEFAULT VALUES, a DEFAULT item). Without a
//! catalogue that default, and so the unified value it maps to, is unknown:
//! the unified column would silently keep its own default. Marks `p`
//! unsupported (reason `legacy_default: ...`); callers leave a statement that
//! sets the unified column itself alone.
void mark_legacy_default(PendingStatement& p, const CompiledMigration& m, const std::string& how);

//! Adds the unified column to the column list (cleanup: renames the legacy one).
Edit unified_column_edit(const InsertColumn& c, bool cleanup);

//! Places `unified` at `after` as a further item (cleanup: replaces `v` with it).
Edit unified_value_edit(const Value& v, uint32_t after, std::string unified, bool cleanup);

//! What a dialect supplies for the legacy item of each VALUES row.
struct ValuesRowHooks {
  //! The value of row `row`'s item, tokens `first`..`last`; nullopt once it
  //! has marked the statement unsupported.
  std::function<std::optional<Value>(size_t row, int first, int last)> classify;
  //! The unified expression for `v`, filling `ev`; "" to assign nothing (the
  //! unified column then gets its DEFAULT). May mark the statement unsupported.
  std::function<std::string(const Value& v, MigrationEvent& ev)> unified;
  //! Cleanup only: the text that replaces the legacy value, given the unified
  //! expression. Unset: the unified expression itself.
  std::function<std::string(const Value& v, const std::string& unified)> cleanup_text;
};

//! The rows `rows` (from split_rows) of `INSERT ... VALUES`: one event and one
//! edit per row plus the column-list edit, into `p`; or `p` marked unsupported.
//! A DEFAULT legacy item marks the statement unsupported (legacy_default:
//! the column's default, and so its mapping, is not known here).
void map_values_rows(const InsertColumn& c, const std::vector<RowItems>& rows, const EventBuilder& events,
                     const ValuesRowHooks& hooks, bool cleanup, PendingStatement& p);

}  // namespace sy::rewrite
