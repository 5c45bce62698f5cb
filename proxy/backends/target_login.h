#pragma once
// Logging in to a target as the proxy itself (its `user`, the password in
// `password_env`, its TLS mode): the pieces that the blocking operator client
// (proxy/ops/db_client) and the non-blocking owned connections share, so both
// read the password and map the TLS settings the same way.
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

typedef struct st_mysql MYSQL;  // as mysql.h declares it

namespace sy::proxy {

//! `target "name" at host:port`, the prefix of every error about that target.
std::string describe_target(const config::Target& t);

//! The password from the target's password_env, read when a login starts.
//! Its bytes are wiped when it goes out of scope.
class TargetPassword {
 public:
  explicit TargetPassword(const config::Target& t);
  ~TargetPassword();
  TargetPassword(const TargetPassword&) = delete;
  TargetPassword& operator=(const TargetPassword&) = delete;
  const std::string& value() const { return value_; }  //!< empty when password_env is empty
  const std::string& error() const { return error_; }  //!< set when password_env names an unset variable

 private:
  std::string value_;
  std::string error_;
};

//! Overwrites `s` with zeros (not optimised away), then clears it.
void wipe(std::string& s);

//! libpq connection keywords for logging in to a target, in the arrays
//! PQconnectdbParams/PQconnectStartParams take. Values (the password among
//! them) are wiped on destruction.
class PgLoginParams {
 public:
  PgLoginParams() = default;
  ~PgLoginParams();
  PgLoginParams(const PgLoginParams&) = delete;
  PgLoginParams& operator=(const PgLoginParams&) = delete;
  void add(std::string keyword, std::string value);
  //! Null-terminated arrays; valid until the next add() or destruction.
  const char* const* keywords();
  const char* const* values();

 private:
  std::vector<std::pair<std::string, std::string>> params_;
  std::vector<const char*> keywords_, values_;
};

//! host, port, user, dbname, sslmode (+ sslrootcert), application_name, and
//! the password when there is one. `hostaddr`, when set, is the already
//! resolved IP of the address host: libpq then connects there without a DNS
//! lookup and checks the certificate against the name.
void add_pg_login(PgLoginParams& p, const config::Target& t, const std::string& database,
                  const std::string& application_name, const std::string& password, const std::string& hostaddr = {});

//! The target's TLS mode as Connector/C options on `m` (before connecting).
void apply_mysql_tls(MYSQL* m, const config::BackendTls& tls);

}  // namespace sy::proxy
