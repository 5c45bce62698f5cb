#include "proxy/ops/verify.h"

#include <cstdio>
#include <iostream>

#include "proxy/ops/db_client.h"
#include "proxy/telemetry/json_writer.h"
#include "rewrite/migration_sql.h"

namespace sy::proxy {

namespace {

struct Counts {
  std::string migration, table;
  uint64_t rows = 0, unmapped = 0, consistent = 0, inconsistent = 0;
  //! Share of mapped rows that are consistent; negative when none is mapped.
  double consistent_pct() const {
    auto mapped = consistent + inconsistent;
    return mapped ? 100.0 * double(consistent) / double(mapped) : -1;
  }
};

uint64_t number(const DbClient::Row& row, size_t i) {
  return i < row.size() && row[i] ? std::strtoull(row[i]->c_str(), nullptr, 10) : 0;
}

std::string pct_text(double pct) {
  if (pct < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", pct);
  return buf;
}

void print_text(const OpsTarget& where, const std::vector<Counts>& all) {
  std::printf("tenant %s: %s\n", where.tenant->name.c_str(), where.describe().c_str());
  std::printf("%-24s %-24s %12s %12s %12s %12s %14s\n", "migration", "table", "rows", "consistent", "inconsistent",
              "unmapped", "consistent_pct");
  for (const auto& c : all)
    std::printf("%-24s %-24s %12llu %12llu %12llu %12llu %14s\n", c.migration.c_str(), c.table.c_str(),
                (unsigned long long)c.rows, (unsigned long long)c.consistent, (unsigned long long)c.inconsistent,
                (unsigned long long)c.unmapped, pct_text(c.consistent_pct()).c_str());
}

void print_json(const OpsTarget& where, const std::vector<Counts>& all) {
  rapidjson::StringBuffer out;
  json::Writer w(out);
  w.StartObject();
  json::member(w, "tenant", where.tenant->name);
  json::member(w, "target", where.target->name);
  json::member(w, "database", where.database);
  json::key(w, "migrations");
  w.StartArray();
  for (const auto& c : all) {
    w.StartObject();
    json::member(w, "migration", c.migration);
    json::member(w, "table", c.table);
    json::member(w, "rows", c.rows);
    json::member(w, "consistent", c.consistent);
    json::member(w, "inconsistent", c.inconsistent);
    json::member(w, "unmapped", c.unmapped);
    json::key(w, "consistent_pct");
    // The text report's three decimals, not the double's shortest form.
    if (c.consistent_pct() < 0) {
      w.Null();
    } else {
      auto text = pct_text(c.consistent_pct());
      w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::cout << out.GetString() << "\n";
}

}  // namespace

int verify(const config::Config& cfg, const std::string& tenant, const std::string& target, bool json) {
  std::vector<Counts> all;
  OpsTarget where;
  try {
    where = resolve_ops_target(cfg, tenant, target);
    auto db = connect_db(where, "switchyard verify");
    const auto dialect = where.dialect();
    for (const auto& name : where.tenant->migrations) {
      const auto* m = cfg.migration(name);
      Counts c{name, (m->schema.empty() ? "" : m->schema + ".") + m->table};
      DbClient::Result r;
      try {
        r = db->run(rewrite::MigrationSql(*m, dialect).report());
      } catch (const DbError& e) {
        throw DbError("migration " + name + " (table " + c.table + "): " + e.what());
      }
      if (r.rows.size() != 1) throw DbError("migration " + name + ": the report returned no row");
      const auto& row = r.rows.front();
      c.rows = number(row, 0);
      c.unmapped = number(row, 1);
      c.consistent = number(row, 2);
      c.inconsistent = number(row, 3);
      all.push_back(std::move(c));
    }
  } catch (const DbError& e) {
    std::cerr << "verify: " << e.what() << "\n";
    return 2;
  }
  if (json)
    print_json(where, all);
  else
    print_text(where, all);
  for (const auto& c : all)
    if (c.inconsistent) return 1;
  return 0;
}

}  // namespace sy::proxy
