#pragma once
// Whether a PostgreSQL statement is a read that another server (a tenant's
// read_target) may answer exactly as the primary would: the statement half
// of read routing (SPEC.md, "Reads in read_switch and cleanup", target
// level). The session half, whether the session's own state allows it right
// now (a transaction, temp tables, advisory locks, LISTEN, a recent write),
// is SessionState::safe_elsewhere and the router's.
//
// Decided from libpg_query's parse tree, never from the text's look. A
// routable read is one SelectStmt (SELECT, VALUES or TABLE) in which, at any
// depth (sub-queries, CTEs, set operations, FROM functions):
//   - no locking clause (FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE),
//     no INTO, and no CTE that inserts, updates, deletes or merges;
//   - every function called is a built-in known to be immutable or stable
//     and to give the same answer on any server of the same data (the list
//     in routable_read.cpp), or one the tenant's allow-list names; anything
//     else (nextval, setval, pg_advisory_lock, set_config, pg_backend_pid,
//     current_setting, a user's function) may write, lock, or answer with
//     this server's own state;
//   - no identity: current_user, session_user, user and current_role name
//     the proxy's login on the read target, not the client's;
//   - nothing server-local: relations named pg_* or in pg_catalog /
//     information_schema (pg_stat_activity, pg_locks, pg_prepared_statements
//     and kin), the system columns ctid, xmin, xmax, cmin, cmax and tableoid,
//     casts to reg* types (object ids differ between servers kept by logical
//     replication), and TABLESAMPLE (its rows follow the physical layout).
// Anything else, or anything the parser rejects, stays on the primary: a
// read kept on the primary costs a little load, a wrong answer costs trust.
#include <string_view>

#include "rewrite/common/route_verdict.h"
#include "rewrite/pg_parse.h"

namespace sy::rewrite {

//! One statement: a RawStmt's "stmt" node.
RouteVerdict pg_routable_statement(const JsonValue& stmt, const FunctionAllowList& allowed = {});

//! A Query message's text or a Parse's statement: routable when it parses
//! and every statement in it is.
RouteVerdict pg_routable_read(std::string_view sql, const FunctionAllowList& allowed = {});

//! Whether `name` (lower case, unqualified) is on the built-in list.
bool pg_builtin_routable_function(std::string_view name);

}  // namespace sy::rewrite
