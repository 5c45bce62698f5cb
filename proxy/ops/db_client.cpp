#include "proxy/ops/db_client.h"

#include <libpq-fe.h>
#include <mysql.h>

#include <cstdlib>

namespace sy::proxy {

std::string OpsTarget::describe() const {
  return "target \"" + target->name + "\" at " + target->address.str() + ", database " + database;
}

OpsTarget resolve_ops_target(const config::Config& cfg, const std::string& tenant_name, const std::string& target_name) {
  OpsTarget out;
  for (const auto& t : cfg.tenants)
    if (t.name == tenant_name) out.tenant = &t;
  if (!out.tenant) throw DbError("no tenant named \"" + tenant_name + "\" in " + cfg.source);
  const auto& match = out.tenant->match;
  if (!match.listener.empty())
    out.listener = cfg.listener(match.listener);
  else if (cfg.listeners.size() == 1)
    out.listener = &cfg.listeners.front();
  if (!out.listener)
    throw DbError("tenant \"" + tenant_name + "\" names no match.listener and the file has several listeners");
  out.target = target_name.empty() ? &out.listener->primary_target() : out.listener->target(target_name);
  if (!out.target) throw DbError("listener \"" + out.listener->name + "\" has no target named \"" + target_name + "\"");
  const auto& tg = *out.target;
  auto key = "listeners[" + out.listener->name + "].targets." + tg.name;
  if (tg.user.empty()) throw DbError(key + ".user is not set: this command logs in as that user");
  out.database = tg.database.empty() ? match.database : tg.database;
  if (out.database.empty())
    throw DbError(key + ".database is not set and tenant \"" + tenant_name + "\" matches no single database");
  return out;
}

namespace {

std::string password_of(const config::Target& t) {
  if (t.password_env.empty()) return {};
  const char* v = std::getenv(t.password_env.c_str());
  if (!v) throw DbError("environment variable " + t.password_env + " (password_env of target \"" + t.name + "\") is not set");
  return v;
}

class PgClient final : public DbClient {
 public:
  PgClient(const OpsTarget& w, const std::string& app) {
    const auto& t = *w.target;
    auto port = std::to_string(t.address.port);
    auto password = password_of(t);
    const char* sslmode = t.tls.mode == config::BackendTlsMode::Disable    ? "disable"
                          : t.tls.mode == config::BackendTlsMode::Prefer   ? "prefer"
                          : t.tls.mode == config::BackendTlsMode::Require  ? "require"
                                                                           : "verify-full";
    std::vector<const char*> keys = {"host", "port", "user", "dbname", "sslmode", "application_name", "connect_timeout"};
    auto timeout = std::to_string((w.listener->connect_timeout_ms + 999) / 1000);
    std::vector<const char*> values = {t.address.host.c_str(), port.c_str(), t.user.c_str(), w.database.c_str(),
                                       sslmode, app.c_str(), timeout.c_str()};
    if (!password.empty()) keys.push_back("password"), values.push_back(password.c_str());
    if (!t.tls.ca.empty()) keys.push_back("sslrootcert"), values.push_back(t.tls.ca.c_str());
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw DbError("cannot log in to " + w.describe() + ": " + trim(why));
    }
  }
  ~PgClient() override { PQfinish(conn_); }

  Result run(const std::string& sql) override {
    PGresult* r = PQexec(conn_, sql.c_str());
    auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string why = PQresultErrorMessage(r);
      PQclear(r);
      throw DbError(trim(why));
    }
    Result out;
    for (int i = 0; i < PQntuples(r); ++i) {
      Row row;
      for (int c = 0; c < PQnfields(r); ++c)
        row.push_back(PQgetisnull(r, i, c) ? std::nullopt : std::optional<std::string>(PQgetvalue(r, i, c)));
      out.rows.push_back(std::move(row));
    }
    if (const char* n = PQcmdTuples(r); n && *n) out.affected = std::strtoull(n, nullptr, 10);
    PQclear(r);
    return out;
  }

 private:
  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  PGconn* conn_ = nullptr;
};

class MyClient final : public DbClient {
 public:
  MyClient(const OpsTarget& w, const std::string& app) {
    const auto& t = *w.target;
    auto password = password_of(t);  // before mysql_init: a missing variable leaks nothing
    conn_ = mysql_init(nullptr);
    if (!conn_) throw DbError("out of memory");
    unsigned timeout = (w.listener->connect_timeout_ms + 999) / 1000;
    mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options4(conn_, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", app.c_str());
    if (t.tls.mode == config::BackendTlsMode::Require || t.tls.mode == config::BackendTlsMode::VerifyFull) {
      my_bool on = 1;
      mysql_options(conn_, MYSQL_OPT_SSL_ENFORCE, &on);
      my_bool verify = t.tls.mode == config::BackendTlsMode::VerifyFull;
      mysql_options(conn_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
      if (!t.tls.ca.empty()) mysql_options(conn_, MYSQL_OPT_SSL_CA, t.tls.ca.c_str());
    }
    if (!mysql_real_connect(conn_, t.address.host.c_str(), t.user.c_str(), password.c_str(), w.database.c_str(),
                            t.address.port, nullptr, 0)) {
      std::string why = mysql_error(conn_);
      mysql_close(conn_);
      throw DbError("cannot log in to " + w.describe() + ": " + why);
    }
  }
  ~MyClient() override { mysql_close(conn_); }

  Result run(const std::string& sql) override {
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) throw DbError(mysql_error(conn_));
    Result out;
    MYSQL_RES* r = mysql_store_result(conn_);
    if (!r) {
      if (mysql_field_count(conn_) != 0) throw DbError(mysql_error(conn_));
      out.affected = mysql_affected_rows(conn_);
      return out;
    }
    unsigned n = mysql_num_fields(r);
    while (MYSQL_ROW row = mysql_fetch_row(r)) {
      unsigned long* lengths = mysql_fetch_lengths(r);
      Row values;
      for (unsigned c = 0; c < n; ++c)
        values.push_back(row[c] ? std::optional<std::string>(std::string(row[c], lengths[c])) : std::nullopt);
      out.rows.push_back(std::move(values));
    }
    mysql_free_result(r);
    return out;
  }

 private:
  MYSQL* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<DbClient> connect_db(const OpsTarget& where, const std::string& application_name) {
  if (where.listener->protocol == config::Protocol::Mysql) return std::make_unique<MyClient>(where, application_name);
  return std::make_unique<PgClient>(where, application_name);
}

}  // namespace sy::proxy
