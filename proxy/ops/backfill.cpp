#include "proxy/ops/backfill.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "config/atomic_file.h"
#include "proxy/ops/db_client.h"
#include "proxy/telemetry/json_writer.h"
#include "proxy/telemetry/log.h"
#include "proxy/flags/tenant_directory.h"
#include "rewrite/migration_sql.h"

namespace sy::proxy {

namespace {

// Where an interrupted run stopped: the migrations finished, and the position
// inside the current one. A batch is one UPDATE, so at most one batch is
// repeated on resume, and repeating it changes nothing.
struct Progress {
  std::vector<std::string> done;
  std::string where;  //!< target and database the positions belong to
  std::string migration, key, after;
  uint64_t scanned = 0, updated = 0;

  bool finished(const std::string& m) const { return std::find(done.begin(), done.end(), m) != done.end(); }

  static Progress load(const std::string& path, const std::string& tenant) {
    Progress p;
    std::ifstream in(path);
    if (!in) return p;
    std::stringstream ss;
    ss << in.rdbuf();
    rapidjson::Document doc;
    doc.Parse(ss.str().c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("tenant") || !doc["tenant"].IsString())
      throw DbError("progress file " + path + " is not one switchyard wrote; remove it or give --restart");
    if (tenant != doc["tenant"].GetString())
      throw DbError("progress file " + path + " belongs to tenant " + doc["tenant"].GetString());
    if (doc.HasMember("where") && doc["where"].IsString()) p.where = doc["where"].GetString();
    if (doc.HasMember("done") && doc["done"].IsArray())
      for (const auto& d : doc["done"].GetArray())
        if (d.IsString()) p.done.emplace_back(d.GetString());
    if (doc.HasMember("current") && doc["current"].IsObject()) {
      const auto& c = doc["current"];
      auto str = [&](const char* k) { return c.HasMember(k) && c[k].IsString() ? std::string(c[k].GetString()) : ""; };
      auto num = [&](const char* k) { return c.HasMember(k) && c[k].IsUint64() ? c[k].GetUint64() : 0; };
      p.migration = str("migration");
      p.key = str("key");
      p.after = str("after");
      p.scanned = num("scanned");
      p.updated = num("updated");
    }
    return p;
  }

  //! The progress file's text: one JSON object and a newline.
  std::string to_json(const std::string& tenant) const {
    rapidjson::StringBuffer json_text;
    json::Writer w(json_text);
    w.StartObject();
    json::member(w, "tenant", tenant);
    json::member(w, "where", where);
    json::key(w, "done");
    w.StartArray();
    for (const auto& m : done) json::string(w, m);
    w.EndArray();
    json::key(w, "current");
    w.StartObject();
    json::member(w, "migration", migration);
    json::member(w, "key", key);
    json::member(w, "after", after);
    json::member(w, "scanned", scanned);
    json::member(w, "updated", updated);
    w.EndObject();
    w.EndObject();
    return std::string(json_text.GetString(), json_text.GetSize()) + "\n";
  }

  void save(const std::string& path, const std::string& tenant) const {
    std::string out = to_json(tenant);
    // A crash (or power loss) mid-save must leave the last position, not an empty file.
    if (auto error = config::write_file_atomically(path, out)) throw DbError("progress file: " + *error);
  }
};

std::string default_progress_path(const config::Config& cfg, const std::string& tenant) {
  if (!cfg.state_file.empty()) return cfg.state_file + ".backfill-" + tenant + ".json";
  return "switchyard-backfill-" + tenant + ".json";
}

// Backfill copies legacy into unified. In cleanup the legacy column is no
// longer written, so it holds older values than unified: copying them would
// undo newer writes. The check uses the phase in force, state_file included.
void refuse_unsafe_phase(const config::Config& cfg, const std::string& tenant) {
  log::init("error");  // the directory's start-up events are for the proxy's log, not this report
  TenantDirectory dir(std::make_shared<config::Config>(cfg), nullptr);
  auto t = dir.current()->find(tenant);
  if (!t) return;
  const auto& c = t->cfg;
  bool canary_cleanup = c.canary.percent > 0 && c.canary.phase == config::Phase::Cleanup;
  if (c.phase == config::Phase::Cleanup || canary_cleanup)
    throw DbError("tenant \"" + tenant + "\" runs cleanup" + (canary_cleanup ? " in its canary" : "") +
                  ": its legacy column is no longer written, and copying it into the unified column would undo "
                  "newer writes. Backfill before cleanup, or roll the tenant back to dual_write first");
  if (c.phase == config::Phase::Off || c.phase == config::Phase::Observe)
    std::fprintf(stderr,
                 "backfill: warning: tenant \"%s\" is in %s, so writes through the proxy are not dual-written and "
                 "rows changed after this backfill go stale again (see the runbook, section 5)\n",
                 tenant.c_str(), config::to_string(c.phase));
}

std::string key_column(DbClient& db, const rewrite::MigrationSql& sql, const std::string& name) {
  auto r = db.run(sql.primary_key());
  if (r.rows.size() != 1 || !r.rows[0][0])
    throw DbError("migration " + name + ": the table has " +
                  (r.rows.empty() ? std::string("no primary key (or does not exist)") : "a composite primary key") +
                  "; give a unique, ordered column with --key");
  return *r.rows[0][0];
}

}  // namespace

int backfill(const config::Config& cfg, const BackfillOptions& o) {
  const auto path = o.progress.empty() ? default_progress_path(cfg, o.tenant) : o.progress;
  try {
    auto where = resolve_ops_target(cfg, o.tenant, o.target);
    refuse_unsafe_phase(cfg, o.tenant);
    auto progress = o.restart ? Progress{} : Progress::load(path, o.tenant);
    // Positions on one server mean nothing on another.
    if (!progress.where.empty() && progress.where != where.describe())
      throw DbError("progress file " + path + " is for " + progress.where + ", not " + where.describe() +
                    "; give --progress FILE for this one, or --restart");
    progress.where = where.describe();
    auto db = connect_db(where, "switchyard backfill");
    const auto dialect = where.dialect();
    std::printf("backfill of tenant %s on %s, batches of %u; progress in %s\n", o.tenant.c_str(),
                where.describe().c_str(), o.batch, path.c_str());
    for (const auto& name : where.tenant->migrations) {
      if (progress.finished(name)) {
        std::printf("%s: done in an earlier run\n", name.c_str());
        continue;
      }
      rewrite::MigrationSql sql(*cfg.migration(name), dialect);
      auto key = o.key.empty() ? key_column(*db, sql, name) : o.key;
      if (progress.migration != name || progress.key != key) {
        progress.migration = name;
        progress.key = key;
        progress.after.clear();
        progress.scanned = progress.updated = 0;
      } else if (!progress.after.empty()) {
        std::printf("%s: resuming after %s = %s\n", name.c_str(), key.c_str(), progress.after.c_str());
      }
      // For the progress line only: statistics, not a count(*) over the table.
      double estimate = 0;
      auto est = db->run(sql.estimated_rows());
      if (!est.rows.empty() && est.rows[0][0]) estimate = std::strtod(est.rows[0][0]->c_str(), nullptr);
      auto last_print = std::chrono::steady_clock::time_point{};
      for (;;) {
        auto bounds = db->run(sql.next_batch(key, progress.after, o.batch));
        uint64_t rows = bounds.rows.empty() || !bounds.rows[0][1] ? 0 : std::strtoull(bounds.rows[0][1]->c_str(), nullptr, 10);
        if (rows == 0) break;
        // A key that has no text form to page by (a binary MySQL key, say)
        // must stop the run, not end it as if the table were done.
        if (!bounds.rows[0][0])
          throw DbError("migration " + name + ": key column " + key + " has no text form to page by; give --key");
        const std::string upto = *bounds.rows[0][0];
        progress.updated += db->run(sql.backfill(key, progress.after, upto)).affected;
        progress.scanned += rows;
        progress.after = upto;
        progress.save(path, o.tenant);
        auto now = std::chrono::steady_clock::now();
        if (now - last_print >= std::chrono::seconds(1)) {
          std::string share;
          if (estimate > 0) share = " (about " + std::to_string(std::min(99, int(100 * progress.scanned / estimate))) + " %)";
          std::printf("%s: %llu rows scanned%s up to %s = %s, %llu updated\n", name.c_str(),
                      (unsigned long long)progress.scanned, share.c_str(), key.c_str(), upto.c_str(),
                      (unsigned long long)progress.updated);
          std::fflush(stdout);
          last_print = now;
        }
        if (rows < o.batch) break;
        if (o.sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(o.sleep_ms));
      }
      std::printf("%s: done, %llu rows scanned, %llu updated\n", name.c_str(), (unsigned long long)progress.scanned,
                  (unsigned long long)progress.updated);
      progress.done.push_back(name);
      progress.migration.clear();
      progress.after.clear();
      progress.scanned = progress.updated = 0;
      progress.save(path, o.tenant);
    }
    std::remove(path.c_str());  // a later run starts from the beginning again
    std::printf("backfill complete; run `switchyard verify` to check\n");
  } catch (const DbError& e) {
    std::fflush(stdout);
    std::cerr << "backfill: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace sy::proxy
