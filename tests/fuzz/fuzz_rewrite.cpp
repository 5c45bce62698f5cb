// libFuzzer target for the statement path: the lexer and both rewriters over
// arbitrary SQL text, in every phase, for the corpus migrations (many-to-one
// maps, quotes in values, schema-qualified tables). A rewrite must never
// crash, and a rewritten text must keep its tokens' positions in bounds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "rewrite/migration_set.h"
#include "rewrite/mysql_rewriter.h"
#include "rewrite/pg_rewriter.h"
#include "rewrite/sql_lexer.h"

namespace {

struct Setup {
  std::shared_ptr<const sy::config::Config> pg_cfg, my_cfg;
  std::unique_ptr<sy::rewrite::MigrationSet> pg_ms, my_ms;
  std::unique_ptr<sy::rewrite::PgRewriter> pg;
  std::unique_ptr<sy::rewrite::MysqlRewriter> my;
};

const Setup& setup() {
  static const Setup s = [] {
    Setup s;
    s.pg_cfg = sy::config::load_file(SY_CORPUS_DIR "/corpus.yaml").config;
    s.my_cfg = sy::config::load_file(SY_CORPUS_DIR "/mysql_corpus.yaml").config;
    if (!s.pg_cfg || !s.my_cfg) __builtin_trap();
    s.pg_ms = std::make_unique<sy::rewrite::MigrationSet>(*s.pg_cfg, s.pg_cfg->tenants.at(0));
    s.my_ms = std::make_unique<sy::rewrite::MigrationSet>(*s.my_cfg, s.my_cfg->tenants.at(0));
    s.pg = std::make_unique<sy::rewrite::PgRewriter>(*s.pg_ms);
    s.my = std::make_unique<sy::rewrite::MysqlRewriter>(*s.my_ms);
    return s;
  }();
  return s;
}

void lex(std::string_view sql, sy::rewrite::Dialect d) {
  uint32_t prev = 0;
  for (const auto& t : sy::rewrite::lex_sql(sql, d)) {
    if (t.begin < prev || t.end < t.begin || t.end > sql.size()) __builtin_trap();
    prev = t.end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  const auto& s = setup();
  using sy::config::Phase;
  const Phase phases[] = {Phase::Observe, Phase::DualWrite, Phase::Cleanup};
  Phase phase = phases[data[0] % 3];
  auto policy = data[0] & 4 ? sy::config::OnUnsupported::Reject : sy::config::OnUnsupported::Forward;
  std::string_view sql(reinterpret_cast<const char*>(data) + 1, size - 1);
  lex(sql, sy::rewrite::Dialect::Postgres);
  lex(sql, sy::rewrite::Dialect::Mysql);
  sy::rewrite::RewriteOptions opts{.phase = phase, .on_unsupported = policy, .extended = (data[0] & 8) != 0};
  for (auto* d : {&s.pg_ms, &s.my_ms}) (void)(*d)->may_touch(sql);
  auto a = s.pg->rewrite(sql, opts);
  auto b = s.my->rewrite(sql, opts);
  if (a.action == sy::rewrite::Decision::Action::Rewrite && a.sql.empty()) __builtin_trap();
  if (b.action == sy::rewrite::Decision::Action::Rewrite && b.sql.empty()) __builtin_trap();
  return 0;
}
