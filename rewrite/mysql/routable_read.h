#pragma once
// Whether a MySQL/MariaDB statement is a read that another server (a
// tenant's read_target) may answer exactly as the primary would: the MySQL
// twin of rewrite/pg/routable_read.h. The session's own state (a
// transaction, autocommit off, temp tables, named locks, a recent write) is
// the session-state model's and the router's.
//
// There is no MySQL parser here, so the check reads the recogniser's tokens
// (rewrite/sql_lexer.h: strings, quoted names and comments are never
// mistaken for keywords) and refuses whatever it cannot place. A routable
// read starts with SELECT, WITH, VALUES, TABLE or a parenthesised SELECT,
// and nowhere holds:
//   - FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE, INTO (OUTFILE, DUMPFILE,
//     @variables), PROCEDURE, SQL_CALC_FOUND_ROWS (FOUND_ROWS() then needs the
//     primary), NEXT/PREVIOUS VALUE FOR (sequences);
//   - a call of anything but a built-in known to be deterministic for the
//     data and the session's replayed settings (the list in
//     routable_read.cpp) or one the tenant's allow-list names: never
//     LAST_INSERT_ID, FOUND_ROWS, ROW_COUNT, GET_LOCK, RELEASE_LOCK, SLEEP,
//     RAND, UUID, CONNECTION_ID, USER, DATABASE, a stored function;
//   - a user or system variable (@x, @@x): user variables are not replayed;
//   - CURRENT_USER, SESSION_USER, SYSTEM_USER, CURRENT_ROLE: the read
//     target's login, not the client's;
//   - the server's own schemas (mysql, information_schema,
//     performance_schema, sys);
//   - an executable comment (/*! ... */), whose contents are not read.
#include <string_view>

#include "rewrite/common/route_verdict.h"

namespace sy::rewrite {

//! A COM_QUERY's text or a COM_STMT_PREPARE's statement: routable when every
//! statement in it is.
RouteVerdict mysql_routable_read(std::string_view sql, const FunctionAllowList& allowed = {});

//! Whether `name` (lower case) is on the built-in list.
bool mysql_builtin_routable_function(std::string_view name);

}  // namespace sy::rewrite
