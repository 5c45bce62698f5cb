#pragma once
// One answer to a read, as the shadow comparator sees it: column names and
// value kinds, and rows of text values (NULL as nullopt). Both PostgreSQL
// (text format, or binary decoded to text) and MySQL answers fit; nothing
// here knows a socket.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sy::shadow {

//! How values of a column are normalised before they are compared.
enum class ValueKind {
  Text,       //!< exactly
  Integer,    //!< as a number: "+007" == "7"
  Numeric,    //!< exact decimal, scale ignored: "1.50" == "1.5"
  Float,      //!< within a relative tolerance
  Timestamp,  //!< fractional seconds' trailing zeros ignored: "…:05.120" == "…:05.12"
  Bool,       //!< t/true/1 and f/false/0
};

//! The kind of a PostgreSQL type OID (text for anything not listed).
ValueKind pg_value_kind(uint32_t type_oid);

//! Whether a PostgreSQL type's text form depends on session settings a
//! client may change (DateStyle, TimeZone, IntervalStyle, lc_monetary,
//! bytea_output): dates, times, intervals, money, bytea and their arrays.
bool pg_text_depends_on_session(uint32_t type_oid);

//! The kind of a MySQL column type code (MYSQL_TYPE_*).
ValueKind mysql_value_kind(uint8_t type_code);

struct Column {
  std::string name;
  ValueKind kind = ValueKind::Text;
};

using Value = std::optional<std::string>;
using Row = std::vector<Value>;

struct ResultSet {
  std::vector<Column> columns;
  std::vector<Row> rows;
};

}  // namespace sy::shadow
