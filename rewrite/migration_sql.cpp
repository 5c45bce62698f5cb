#include "rewrite/migration_sql.h"

#include "rewrite/common/case_expression.h"
#include "rewrite/sql_text.h"

namespace sy::rewrite {

std::string MigrationSql::ident(const std::string& name) const {
  return dialect_ == Dialect::Mysql ? quote_mysql_ident(name) : quote_ident(name);
}

std::string MigrationSql::literal(const std::string& value) const { return literal_quoter(dialect_)(value); }

std::string MigrationSql::mysql_database() const {
  return m_.schema.empty() ? std::string("DATABASE()") : literal(m_.schema);
}

std::string MigrationSql::table() const {
  return (m_.schema.empty() ? "" : ident(m_.schema) + ".") + ident(m_.table);
}

std::string MigrationSql::legacy_text() const {
  // PostgreSQL: the rewriter maps CAST(expr AS text), so enums and varchars
  // compare by their text. MySQL compares the column itself, in its collation.
  auto col = "t." + ident(m_.legacy_column);
  return dialect_ == Dialect::Mysql ? col : "CAST(" + col + " AS text)";
}

std::string MigrationSql::expected(const std::string& else_) const {
  return case_expression(legacy_text(), m_.map, literal_quoter(dialect_), else_);
}

std::string MigrationSql::differs() const {
  auto unified = "t." + ident(m_.unified_column);
  // Unified values are compared exactly: a case-insensitive MySQL collation
  // would call 'Sent' consistent with 'SENT'.
  if (dialect_ == Dialect::Mysql)
    return "NOT (CAST(" + unified + " AS BINARY) <=> CAST(" + expected() + " AS BINARY))";
  return "CAST(" + unified + " AS text) IS DISTINCT FROM " + expected();
}

std::string MigrationSql::report() const {
  const bool my = dialect_ == Dialect::Mysql;
  std::string cast_open = my ? "CAST(" : "", cast_close = my ? " AS CHAR)" : "::text";
  auto count_if = [&](const std::string& cond) {
    return my ? "CAST(COALESCE(SUM(" + cond + "), 0) AS CHAR)" : "count(*) FILTER (WHERE " + cond + ")::text";
  };
  std::string mapped = "e IS NOT NULL";
  return "SELECT " + cast_open + "COUNT(*)" + cast_close + ", " + count_if("e IS NULL") + ", " +
         count_if(mapped + " AND NOT d") + ", " + count_if(mapped + " AND d") + " FROM (SELECT " + expected() +
         " AS e, " + differs() + " AS d FROM " + table() + " t) x";
}

std::string MigrationSql::estimated_rows() const {
  if (dialect_ == Dialect::Mysql)
    return "SELECT CAST(TABLE_ROWS AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
           mysql_database() + " AND TABLE_NAME = " + literal(m_.table);
  return "SELECT reltuples::bigint::text FROM pg_class WHERE oid = to_regclass(" + literal(table()) + ")";
}

std::string MigrationSql::primary_key() const {
  if (dialect_ == Dialect::Mysql)
    return "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME = 'PRIMARY' AND "
           "TABLE_SCHEMA = " +
           mysql_database() + " AND TABLE_NAME = " + literal(m_.table) + " ORDER BY ORDINAL_POSITION";
  return "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = "
         "ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = to_regclass(" +
         literal(table()) + ")";
}

std::string MigrationSql::key_range(const std::string& key, const std::string& after, const std::string& upto) const {
  std::string out;
  auto add = [&](const std::string& cond) { out += (out.empty() ? " WHERE " : " AND ") + cond; };
  // Keys travel as text literals: both servers coerce them to the key's type.
  if (!after.empty()) add("t." + ident(key) + " > " + literal(after));
  if (!upto.empty()) add("t." + ident(key) + " <= " + literal(upto));
  return out;
}

std::string MigrationSql::next_batch(const std::string& key, const std::string& after, unsigned batch) const {
  const bool my = dialect_ == Dialect::Mysql;
  auto k = "t." + ident(key);
  // The last key by ORDER BY rather than max(): uuid and other types without
  // a max() aggregate page the same way. (b.k, not k: a bare name in ORDER BY
  // would sort by the text output column.)
  return "WITH b AS (SELECT " + k + " AS k FROM " + table() + " t" + key_range(key, after, "") + " ORDER BY " + k +
         " LIMIT " + std::to_string(batch) + ") SELECT (SELECT " + (my ? "CAST(b.k AS CHAR)" : "b.k::text") +
         " AS bound FROM b ORDER BY b.k DESC LIMIT 1), (SELECT " +
         (my ? "CAST(COUNT(*) AS CHAR)" : "count(*)::text") + " FROM b)";
}

std::string MigrationSql::backfill(const std::string& key, const std::string& after, const std::string& upto) const {
  auto unified = ident(m_.unified_column);
  // ELSE the column itself gives the CASE the column's own type, so the
  // literals coerce to an enum exactly as in an assignment.
  std::string set = expected("t." + unified);
  std::string in;
  for (const auto& [legacy, _] : m_.map) in += (in.empty() ? "" : ", ") + literal(legacy);
  auto where = key_range(key, after, upto);
  where += (where.empty() ? " WHERE " : " AND ") + legacy_text() + " IN (" + in + ") AND " + differs();
  return "UPDATE " + table() + " t SET " + unified + " = " + set + where;
}

}  // namespace sy::rewrite
