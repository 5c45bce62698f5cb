#pragma once
// The PostgreSQL-dialect rewrite: given a statement text (one Query message,
// possibly several statements, or one Parse), decide per SPEC.md's phases
// whether and how writes of legacy status columns also set the unified column.
//
// Edits are byte insertions/replacements at offsets from the parse tree and a
// position-preserving lexer; nothing is deparsed, so every byte the rewrite
// does not touch (comments, spacing, literals) is kept. A rewritten text is
// parsed again before it is used; if it does not have the same statements and
// parameters, the original is forwarded and the write is reported unsupported.
#include <string_view>

#include "config/config.h"
#include "rewrite/decision.h"
#include "rewrite/migration_set.h"

namespace sy::rewrite {

struct RewriteOptions {
  config::Phase phase = config::Phase::Off;
  config::OnUnsupported on_unsupported = config::OnUnsupported::Forward;
  //! The text comes from a Parse message: refusals must fail at Parse time
  //! without depending on parameter types.
  bool extended = false;
};

class PgRewriter {
 public:
  explicit PgRewriter(const MigrationSet& migrations) : migrations_(migrations) {}

  //! Full decision, parse included. Thread-safe (no shared mutable state).
  Decision rewrite(std::string_view sql, const RewriteOptions& opts) const;

 private:
  const MigrationSet& migrations_;
};

}  // namespace sy::rewrite
