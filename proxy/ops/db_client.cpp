#include "proxy/ops/db_client.h"

#include <libpq-fe.h>
#include <mysql.h>

#include <cstdlib>

#include "proxy/backends/target_login.h"
#include "proxy/backends/text_rows.h"

namespace sy::proxy {

std::string OpsTarget::describe() const { return describe_target(*target) + ", database " + database; }

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

//! The target's password, or DbError when its variable is unset.
const std::string& password_of(const TargetPassword& pw) {
  if (!pw.error().empty()) throw DbError(pw.error());
  return pw.value();
}

class PgClient final : public DbClient {
 public:
  PgClient(const OpsTarget& w, const std::string& app) {
    TargetPassword password(*w.target);
    PgLoginParams params;
    add_pg_login(params, *w.target, w.database, app, password_of(password));
    params.add("connect_timeout", std::to_string((w.listener->connect_timeout_ms + 999) / 1000));
    conn_ = PQconnectdbParams(params.keywords(), params.values(), 0);
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw DbError("cannot log in to " + w.describe() + ": " + trim_message(why));
    }
  }
  ~PgClient() override { PQfinish(conn_); }

  Result run(const std::string& sql) override {
    PGresult* r = PQexec(conn_, sql.c_str());
    auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string why = PQresultErrorMessage(r);
      PQclear(r);
      throw DbError(trim_message(why));
    }
    Result out;
    out.rows = text_rows(r);
    if (const char* n = PQcmdTuples(r); n && *n) out.affected = std::strtoull(n, nullptr, 10);
    PQclear(r);
    return out;
  }

 private:
  PGconn* conn_ = nullptr;
};

class MyClient final : public DbClient {
 public:
  MyClient(const OpsTarget& w, const std::string& app) {
    const auto& t = *w.target;
    TargetPassword password(t);
    password_of(password);  // before mysql_init: a missing variable leaks nothing
    conn_ = mysql_init(nullptr);
    if (!conn_) throw DbError("out of memory");
    unsigned timeout = (w.listener->connect_timeout_ms + 999) / 1000;
    mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options4(conn_, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", app.c_str());
    apply_mysql_tls(conn_, t.tls);
    if (!mysql_real_connect(conn_, t.address.host.c_str(), t.user.c_str(), password.value().c_str(), w.database.c_str(),
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
    out.rows = text_rows(r);
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
