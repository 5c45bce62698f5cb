// Holds the engine to the golden corpus (tests/corpus/pg_rewrites.json): for
// every statement, the dual_write text must be exactly the recorded one. The
// integration test runs the same corpus against PostgreSQL to prove the
// recorded texts do the right thing.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "rewrite/migration_set.h"
#include "rewrite/pg_rewriter.h"

using namespace sy;

namespace {
std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(PgCorpus, EveryStatementRewritesToItsRecordedText) {
  auto loaded = config::load_file(SY_CORPUS_DIR "/corpus.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).str();
  const auto& tenant = loaded.config->tenants.at(0);
  rewrite::MigrationSet ms(*loaded.config, tenant);
  rewrite::PgRewriter rw(ms);

  rapidjson::Document corpus;
  corpus.Parse(read(SY_CORPUS_DIR "/pg_rewrites.json").c_str());
  ASSERT_TRUE(corpus.IsArray());
  ASSERT_GE(corpus.Size(), 150u);
  int rewritten = 0;
  for (const auto& e : corpus.GetArray()) {
    std::string sql = e["sql"].GetString();
    std::string expected = e["expected"].GetString();
    auto d = rw.rewrite(sql, {.phase = config::Phase::DualWrite, .on_unsupported = tenant.on_unsupported});
    std::string got = d.action == rewrite::Decision::Action::Rewrite ? d.sql : sql;
    EXPECT_EQ(got, expected) << "note: " << e["note"].GetString();
    rewritten += got != sql;
    // The pre-filter must never hide a statement the engine would change.
    if (got != sql) {
      EXPECT_TRUE(ms.may_touch(sql)) << sql;
    }
  }
  EXPECT_GE(rewritten, 120);
}
