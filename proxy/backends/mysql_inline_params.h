#pragma once
// `?` placeholders of a MySQL statement replaced by quoted literals, so the
// owned connection can use the text protocol (see owned_mysql_connection.h).
#include <optional>
#include <string>
#include <vector>

typedef struct st_mysql MYSQL;  // as mysql.h declares it

namespace sy::proxy {

struct InlinedSql {
  std::string sql;    //!< the statement to send
  std::string error;  //!< set (and sql empty) when the parameters do not fit
};

//! Each `?` outside strings, quoted identifiers and comments becomes the next
//! parameter as a '...' literal escaped for `m`'s character set and SQL mode,
//! or NULL; every other byte stays as it was. A parameter marked in `numbers`
//! whose text is a plain decimal number goes in unquoted (`LIMIT ?` takes no
//! string), as a prepared statement's bound number would.
InlinedSql inline_params(MYSQL* m, const std::string& sql, const std::vector<std::optional<std::string>>& params,
                         const std::vector<bool>& numbers = {});

//! `s` is [-+]digits[.digits][e[-+]digits]: safe to send unquoted.
bool plain_number(const std::string& s);

}  // namespace sy::proxy
