#pragma once
// What one analysed statement contributes to a decision, the same for every
// dialect: its edits and events, or a single "unsupported" report, or a
// refusal. The dialects differ only in how a refusal is spelled in SQL.
#include <functional>
#include <string>
#include <vector>

#include "rewrite/decision.h"
#include "rewrite/migration_set.h"
#include "rewrite/pg_rewriter.h"
#include "rewrite/text_edits.h"

namespace sy::rewrite {

struct PendingStatement {
  std::vector<Edit> edits;
  std::vector<MigrationEvent> events;
  std::string unsupported;  //!< first reason the statement cannot be rewritten safely
  const CompiledMigration* unsupported_migration = nullptr;
  std::string reject;  //!< refusal demanded by `unmapped: reject`

  void mark_unsupported(std::string why, const CompiledMigration* m) {
    if (!unsupported.empty()) return;
    unsupported = std::move(why);
    unsupported_migration = m;
  }
};

//! The unified value for a literal legacy value (`literal` null for SQL NULL)
//! under the migration's map and unmapped policy, quoted with `quote`; fills
//! the event. Returns "" for "assign nothing" (keep, or a refusal recorded in
//! `p`).
inline std::string unified_for_literal(const CompiledMigration& m, const std::string* literal, const std::string& table,
                                       MigrationEvent& ev, PendingStatement& p,
                                       std::string (*quote)(std::string_view)) {
  if (const std::string* mapped = literal ? m.lookup(*literal) : nullptr) {
    ev.unified = *mapped;
    return quote(*mapped);
  }
  ev.outcome = Outcome::Unmapped;
  switch (m.cfg->unmapped) {
    case config::Unmapped::Keep: ev.unified = "(kept)"; return "";
    case config::Unmapped::Copy: ev.unified = ev.legacy; return literal ? quote(*literal) : "NULL";
    case config::Unmapped::Null: ev.unified = "NULL"; return "NULL";
    case config::Unmapped::Reject:
      ev.unified = "(rejected)";
      if (p.reject.empty())
        p.reject = "unmapped value '" + ev.legacy + "' for " + table + "." + m.cfg->legacy_column + " (migration " +
                   m.cfg->name + ", unmapped: reject)";
      return "";
  }
  return "";
}

//! The rewritten text failed its own check (statements or parameters changed):
//! the client's original goes through, and what would have been rewritten (or
//! read-switched) is reported unsupported (read_unsupported) instead.
inline Decision forward_unverified(Decision d, const std::string& reason) {
  for (auto& e : d.events)
    if (e.outcome == Outcome::Rewritten || e.outcome == Outcome::ReadSwitched) {
      e.outcome = e.outcome == Outcome::Rewritten ? Outcome::Unsupported : Outcome::ReadUnsupported;
      e.reason = reason;
    }
  d.rejected = false;
  return d;
}

inline bool rewrites_writes(config::Phase p) {
  return p == config::Phase::DualWrite || p == config::Phase::ReadSwitch || p == config::Phase::Cleanup;
}

//! Moves the statement's outcome into the decision. `refuse(message, sqlstate)`
//! must replace the statement with one that fails with that message.
inline void finish_statement(PendingStatement& p, const RewriteOptions& opts, std::vector<MigrationEvent>& events,
                             std::vector<Edit>& edits, const std::function<void(const std::string&, const char*)>& refuse) {
  auto label = [&p](MigrationEvent& ev) {
    if (p.unsupported_migration) {
      ev.migration = p.unsupported_migration->cfg->name;
      ev.table = p.unsupported_migration->cfg->table;
    } else if (!p.events.empty()) {
      ev.migration = p.events.front().migration;
      ev.table = p.events.front().table;
    }
  };
  if (!p.unsupported.empty()) {
    MigrationEvent ev;
    ev.outcome = Outcome::Unsupported;
    ev.reason = p.unsupported;
    label(ev);
    events.push_back(ev);
    if (opts.on_unsupported == config::OnUnsupported::Reject && rewrites_writes(opts.phase))
      refuse("cannot rewrite this write safely (" + p.unsupported + ") and the tenant has on_unsupported: reject", "0A000");
    return;
  }
  if (!p.reject.empty() && rewrites_writes(opts.phase)) {
    for (auto& ev : p.events)
      if (ev.outcome == Outcome::Unmapped) events.push_back(ev);
    MigrationEvent r;
    r.outcome = Outcome::Rejected;
    r.reason = p.reject;
    label(r);
    events.push_back(r);
    refuse(p.reject, "22023");
    return;
  }
  for (auto& ev : p.events) events.push_back(std::move(ev));
  if (rewrites_writes(opts.phase))
    for (auto& e : p.edits) edits.push_back(std::move(e));
}

}  // namespace sy::rewrite
