#pragma once
// Rows of a client-library result as text values, the form every user of
// libpq and Connector/C in the proxy wants them in (NULL stays distinct from '').
#include <optional>
#include <string>
#include <vector>

// As libpq-fe.h and mysql.h declare them; their include directories are the
// proxy library's own business.
typedef struct pg_result PGresult;
typedef struct st_mysql_res MYSQL_RES;

namespace sy::proxy {

using TextRow = std::vector<std::optional<std::string>>;  //!< nullopt is NULL

std::vector<TextRow> text_rows(const PGresult* r);
//! Fetches every row of a stored (mysql_store_result) result: no I/O.
std::vector<TextRow> text_rows(MYSQL_RES* r);

//! libpq's messages end with a newline; ours do not.
std::string trim_message(std::string s);

}  // namespace sy::proxy
