// The socket-free parts of shadow reads around the comparator: sampling and
// noise per fingerprint, the compare plan a read shape gives, the mismatch
// ring, and the tenants' guards.
#include <gtest/gtest.h>

#include <chrono>

#include "proxy/shadow/compare_plan.h"
#include "proxy/shadow/fingerprint_book.h"
#include "proxy/shadow/guard_board.h"
#include "proxy/shadow/mismatch_log.h"
#include "rewrite/pg_rewriter.h"
#include "tests/unit/support/test_config.h"

using namespace sy;
using namespace sy::shadow;

TEST(FingerprintBook, RareShapesAreSampledThenThePercentage) {
  FingerprintBook book;
  int sampled = 0;
  for (int i = 0; i < 1003; ++i) sampled += book.sample("t", "fp", 10);
  // The first three always, then exactly one in ten of the next thousand.
  EXPECT_EQ(sampled, 3 + 100);
  // Another fingerprint (or tenant) starts afresh.
  EXPECT_TRUE(book.sample("t", "rare", 0.01));
  EXPECT_TRUE(book.sample("u", "fp", 10));
  // 100 % takes all, 0 % none.
  int all = 0;
  for (int i = 0; i < 500; ++i) all += book.sample("t", "every", 100);
  EXPECT_EQ(all, 500);
  EXPECT_FALSE(book.sample("t", "never", 0));
}

TEST(FingerprintBook, SelfChecksFindNoise) {
  FingerprintBook book;
  EXPECT_TRUE(book.wants_self_check("t", "fp"));
  for (uint32_t i = 0; i < FingerprintBook::kSelfChecks; ++i) book.self_checked("t", "fp", false);
  EXPECT_FALSE(book.wants_self_check("t", "fp"));
  // A mismatch may still be re-run with a self-check, up to the maximum.
  EXPECT_TRUE(book.may_recheck("t", "fp"));
  for (uint32_t i = FingerprintBook::kSelfChecks; i < FingerprintBook::kMaxSelfChecks; ++i)
    book.self_checked("t", "fp", false);
  EXPECT_FALSE(book.may_recheck("t", "fp"));
  EXPECT_FALSE(book.noisy("t", "fp"));
  book.self_checked("t", "random", true);
  EXPECT_TRUE(book.noisy("t", "random"));
  EXPECT_FALSE(book.wants_self_check("t", "random"));
}

namespace {
struct Plan : ::testing::Test {
  // order_status round-trips only without Shipped (Shipped and Dispatched both DISPATCHED).
  std::shared_ptr<const config::Config> cfg = test::load_config(test::dual_write_yaml(
      "[order_status, cashout_status]",
      test::order_status_yaml("{ Dispatched: DISPATCHED, Shipped: DISPATCHED, Delivered: DELIVERED }",
                              "    reverse: { DISPATCHED: Dispatched }\n") +
          "  cashout_status:\n    table: cashouts\n    legacy_column: status\n    unified_column: unified_status\n"
          "    entity_column: cashout_id\n    map: { pending: PENDING, paid: COMPLETED }\n"));
  rewrite::MigrationSet ms{*cfg, cfg->tenants.at(0)};
  rewrite::PgRewriter rw{ms};

  rewrite::ReadShape shape(std::string_view sql) {
    auto d = rw.rewrite(sql, {.phase = config::Phase::ReadSwitch});
    EXPECT_TRUE(d.read_shape) << sql;
    return d.read_shape.value_or(rewrite::ReadShape{});
  }
};
}  // namespace

TEST_F(Plan, RoundTrips) {
  EXPECT_FALSE(round_trips(ms.all()[0]));  // Shipped reads back as Dispatched
  EXPECT_TRUE(round_trips(ms.all()[1]));
}

TEST_F(Plan, OutputsOfAnyMapCompareFiltersOnlyOfRoundTrippingOnes) {
  EXPECT_EQ(not_comparable(shape("SELECT id, status FROM orders WHERE id = $1"), ms), "");
  EXPECT_NE(not_comparable(shape("SELECT id FROM orders WHERE status = 'Shipped'"), ms), "");
  EXPECT_NE(not_comparable(shape("SELECT status, count(*) FROM orders GROUP BY status"), ms), "");
  EXPECT_EQ(not_comparable(shape("SELECT cashout_id FROM cashouts WHERE status = 'paid'"), ms), "");
  EXPECT_EQ(not_comparable(shape("SELECT status, count(*) FROM cashouts GROUP BY status"), ms), "");
}

TEST_F(Plan, OptionsMapStatusOutputsIgnoreColumnsAndKeyRows) {
  auto s = shape("SELECT status, updated_at, id FROM orders ORDER BY id LIMIT $1");
  std::vector<Column> cols = {{"status", ValueKind::Text}, {"updated_at", ValueKind::Timestamp},
                              {"id", ValueKind::Integer}};
  auto o = compare_options(s, ms, {"updated_at"}, cols, limit_of(s, {std::string("25")}, {0}));
  ASSERT_EQ(o.columns.size(), 3u);
  EXPECT_EQ(o.columns[0].map, &ms.all()[0].map);
  EXPECT_TRUE(o.columns[1].ignore);
  EXPECT_EQ(o.key_column, 2u);
  EXPECT_TRUE(o.ordered);
  EXPECT_EQ(o.order_keys, std::vector<size_t>{2});
  EXPECT_EQ(o.limit, 25u);
  // A binary LIMIT parameter is not read; a constant is.
  EXPECT_FALSE(limit_of(s, {std::string("\0\0\0\31", 4)}, {1}));
  EXPECT_EQ(limit_of(shape("SELECT status FROM orders LIMIT 7"), {}, {}), 7u);
  // The migration's entity column names rows.
  auto c = shape("SELECT cashout_id, status FROM cashouts");
  auto oc = compare_options(c, ms, {}, {{"cashout_id", ValueKind::Integer}, {"status", ValueKind::Text}}, std::nullopt);
  EXPECT_EQ(oc.key_column, 0u);
  // Shipped and Dispatched are the same answer in the unified space.
  ResultSet a{{{"status", ValueKind::Text}}, {{std::string("Shipped")}}};
  ResultSet b{{{"status", ValueKind::Text}}, {{std::string("Dispatched")}}};
  auto po = compare_options(shape("SELECT status FROM orders"), ms, {}, a.columns, std::nullopt);
  EXPECT_TRUE(compare(a, b, po).equal);
}

TEST(MismatchLog, KeepsTheLastThousandNewestFirst) {
  MismatchLog log;
  for (int i = 0; i < 1005; ++i) {
    MismatchRecord r;
    r.tenant = i % 2 ? "odd" : "even";
    r.diff = "n" + std::to_string(i);
    r.params = {std::string("x\"y")};
    r.param_count = 1;
    r.params_redacted = i != 1004;
    log.push(r);
  }
  EXPECT_EQ(log.total(), 1005u);
  auto all = log.json();
  EXPECT_EQ(all.find("\"n4\""), std::string::npos);  // pushed out
  EXPECT_LT(all.find("\"n1004\""), all.find("\"n1003\""));
  EXPECT_NE(all.find(R"("params":["x\"y"])"), std::string::npos) << all.substr(0, 400);
  EXPECT_NE(all.find(R"x("params":"redacted (1)")x"), std::string::npos);
  auto odd = log.json("odd");
  EXPECT_EQ(odd.find("\"even\""), std::string::npos);
  EXPECT_NE(odd.find("\"n1003\""), std::string::npos);
}

TEST(GuardBoard, OneGuardPerTenantClearedByAnOperator) {
  GuardBoard board;
  config::Guard settings;
  settings.min_samples = 10;
  auto g = board.guard("acme", settings);
  EXPECT_EQ(board.guard("acme", settings), g);
  auto now = Guard::Clock::now();
  std::optional<GuardState> last;
  for (int i = 0; i < 50; ++i)
    if (auto u = g->record(true, settings, now + std::chrono::seconds(i)); u.changed) last = u.changed;
  EXPECT_EQ(last, GuardState::Tripped);
  EXPECT_EQ(board.state("acme"), GuardState::Tripped);
  EXPECT_FALSE(board.state("other"));
  EXPECT_TRUE(board.clear("acme"));
  EXPECT_EQ(board.state("acme"), GuardState::Ok);
  EXPECT_FALSE(board.clear("other"));
}
