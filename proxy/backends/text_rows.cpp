#include "proxy/backends/text_rows.h"

#include <libpq-fe.h>
#include <mysql.h>

namespace sy::proxy {

std::vector<TextRow> text_rows(const PGresult* r) {
  std::vector<TextRow> out;
  int columns = PQnfields(r);
  out.reserve(PQntuples(r));
  for (int i = 0; i < PQntuples(r); ++i) {
    TextRow row;
    row.reserve(columns);
    for (int c = 0; c < columns; ++c)
      row.push_back(PQgetisnull(r, i, c) ? std::nullopt
                                         : std::optional<std::string>(std::in_place, PQgetvalue(r, i, c),
                                                                      PQgetlength(r, i, c)));
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<TextRow> text_rows(MYSQL_RES* r) {
  std::vector<TextRow> out;
  unsigned columns = mysql_num_fields(r);
  while (MYSQL_ROW row = mysql_fetch_row(r)) {
    unsigned long* lengths = mysql_fetch_lengths(r);
    TextRow values;
    values.reserve(columns);
    for (unsigned c = 0; c < columns; ++c)
      values.push_back(row[c] ? std::optional<std::string>(std::in_place, row[c], lengths[c]) : std::nullopt);
    out.push_back(std::move(values));
  }
  return out;
}

std::string trim_message(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace sy::proxy
