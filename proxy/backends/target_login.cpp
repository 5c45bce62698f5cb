#include "proxy/backends/target_login.h"

#include <mysql.h>
#include <openssl/crypto.h>

#include <cstdlib>

namespace sy::proxy {

std::string describe_target(const config::Target& t) {
  return "target \"" + t.name + "\" at " + t.address.str();
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

TargetPassword::TargetPassword(const config::Target& t) {
  if (t.password_env.empty()) return;
  if (const char* v = std::getenv(t.password_env.c_str()))
    value_ = v;
  else
    error_ = "environment variable " + t.password_env + " (password_env of target \"" + t.name + "\") is not set";
}

TargetPassword::~TargetPassword() { wipe(value_); }

PgLoginParams::~PgLoginParams() {
  for (auto& [k, v] : params_) wipe(v);
}

void PgLoginParams::add(std::string keyword, std::string value) {
  params_.emplace_back(std::move(keyword), std::move(value));
}

const char* const* PgLoginParams::keywords() {
  keywords_.clear();
  for (const auto& [k, v] : params_) keywords_.push_back(k.c_str());
  keywords_.push_back(nullptr);
  return keywords_.data();
}

const char* const* PgLoginParams::values() {
  values_.clear();
  for (const auto& [k, v] : params_) values_.push_back(v.c_str());
  values_.push_back(nullptr);
  return values_.data();
}

void add_pg_login(PgLoginParams& p, const config::Target& t, const std::string& database,
                  const std::string& application_name, const std::string& password, const std::string& hostaddr) {
  using M = config::BackendTlsMode;
  // libpq checks verify-full against `host`; with `hostaddr` set it connects
  // there instead, so `host` can carry the configured server_name.
  const auto& name = t.tls.server_name.empty() ? t.address.host : t.tls.server_name;
  p.add("host", hostaddr.empty() ? t.address.host : name);
  if (!hostaddr.empty()) p.add("hostaddr", hostaddr);
  p.add("port", std::to_string(t.address.port));
  p.add("user", t.user);
  p.add("dbname", database);
  p.add("sslmode", t.tls.mode == M::Disable   ? "disable"
                   : t.tls.mode == M::Prefer  ? "prefer"
                   : t.tls.mode == M::Require ? "require"
                                              : "verify-full");
  if (!t.tls.ca.empty()) p.add("sslrootcert", t.tls.ca);
  if (!t.tls.cert.empty()) p.add("sslcert", t.tls.cert);
  if (!t.tls.key.empty()) p.add("sslkey", t.tls.key);
  p.add("application_name", application_name);
  if (!password.empty()) p.add("password", password);
}

void apply_mysql_tls(MYSQL* m, const config::BackendTls& tls) {
  using M = config::BackendTlsMode;
  if (tls.mode != M::Require && tls.mode != M::VerifyFull) return;
  my_bool on = 1;
  mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
  my_bool verify = tls.mode == M::VerifyFull;
  mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  if (!tls.ca.empty()) mysql_options(m, MYSQL_OPT_SSL_CA, tls.ca.c_str());
  if (!tls.cert.empty()) mysql_options(m, MYSQL_OPT_SSL_CERT, tls.cert.c_str());
  if (!tls.key.empty()) mysql_options(m, MYSQL_OPT_SSL_KEY, tls.key.c_str());
}

}  // namespace sy::proxy
