#pragma once
// RAII over libpg_query's JSON parse: the C result is freed exactly once, and
// the tree is read with rapidjson in situ (no copy of the JSON text).
#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace sy::rewrite {

using JsonValue = rapidjson::Value;

class PgParse {
 public:
  explicit PgParse(std::string_view sql);
  ~PgParse();
  PgParse(const PgParse&) = delete;
  PgParse& operator=(const PgParse&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int error_position() const { return error_pos_; }  //!< 1-based, 0 if unknown
  //! The "stmts" array of RawStmt objects.
  const JsonValue& statements() const;

 private:
  std::string sql_;  // NUL-terminated copy: libpg_query takes a C string
  void* result_ = nullptr;
  rapidjson::Document doc_;
  std::string error_;
  int error_pos_ = 0;
};

//! Member `key` of an object, or nullptr.
const JsonValue* member(const JsonValue& obj, const char* key);
//! The single wrapped node of a {"NodeType": {...}} object, if its type is `type`.
const JsonValue* node(const JsonValue& wrapper, const char* type);
//! String member, or empty.
std::string_view str_member(const JsonValue& obj, const char* key);
//! Integer member, or `fallback`.
int int_member(const JsonValue& obj, const char* key, int fallback);

//! How many statements PostgreSQL's grammar finds in `sql`, or -1 (and
//! `error`) when it does not parse: a full parse without building the JSON
//! tree, for checking a rewritten text.
int statement_count(std::string_view sql, std::string* error = nullptr);

//! pg_query's statement fingerprint (hex), empty on error.
std::string fingerprint(std::string_view sql);

}  // namespace sy::rewrite
