// The shadow comparator: what counts as the same answer.
#include "proxy/shadow/comparator.h"

#include <gtest/gtest.h>

using namespace sy::shadow;

namespace {

const std::unordered_map<std::string, std::string> kMap = {
    {"Dispatched", "DISPATCHED"}, {"Shipped", "DISPATCHED"}, {"Delivered", "DELIVERED"}};

ResultSet answer(std::vector<Row> rows, std::vector<Column> cols = {{"id", ValueKind::Integer},
                                                                    {"status", ValueKind::Text}}) {
  return ResultSet{std::move(cols), std::move(rows)};
}

CompareOptions status_in_column_1() {
  CompareOptions o;
  o.columns = {ColumnRule{}, ColumnRule{&kMap, false}};
  o.key_column = 0;
  return o;
}

TEST(Comparator, StatusesAreComparedInTheUnifiedSpace) {
  auto legacy = answer({{"1", "Shipped"}, {"2", "Delivered"}});
  auto unified = answer({{"2", "Delivered"}, {"1", "Dispatched"}});  // other order, other spelling
  EXPECT_TRUE(compare(legacy, unified, status_in_column_1()).equal);
}

TEST(Comparator, ADifferenceNamesTheRowAndBothValues) {
  auto legacy = answer({{"41", "Delivered"}, {"42", "Dispatched"}});
  auto unified = answer({{"41", "Delivered"}, {"42", "Delivered"}});
  auto c = compare(legacy, unified, status_in_column_1());
  ASSERT_FALSE(c.equal);
  ASSERT_EQ(c.diffs.size(), 1u);
  EXPECT_EQ(c.diffs[0].key, "id 42");
  EXPECT_EQ(c.describe(), "rows differ (2 vs 2 rows); id 42: status 'Dispatched' → map DISPATCHED, unified "
                          "'Delivered' (DELIVERED)");
}

TEST(Comparator, MissingAndExtraRows) {
  auto c = compare(answer({{"1", "Delivered"}, {"2", "Delivered"}}), answer({{"1", "Delivered"}, {"3", "Delivered"}}),
                   status_in_column_1());
  ASSERT_FALSE(c.equal);
  ASSERT_EQ(c.diffs.size(), 2u);
  EXPECT_EQ(c.diffs[0].where, "only a");
  EXPECT_EQ(c.diffs[1].where, "only b");
  // Duplicates count: a multiset, not a set.
  EXPECT_FALSE(compare(answer({{"1", "Delivered"}, {"1", "Delivered"}}), answer({{"1", "Delivered"}}),
                       status_in_column_1()).equal);
}

TEST(Comparator, UnmappedValuesStandForThemselves) {
  EXPECT_TRUE(compare(answer({{"1", "Lost"}}), answer({{"1", "Lost"}}), status_in_column_1()).equal);
  // An unmapped legacy value never equals a unified value spelled alike.
  const std::unordered_map<std::string, std::string> ident = {{"A", "A"}};
  CompareOptions o;
  o.columns = {ColumnRule{}, ColumnRule{&ident, false}};
  EXPECT_TRUE(compare(answer({{"1", "A"}}), answer({{"1", "A"}}), o).equal);
  EXPECT_EQ(normalise(std::string("B"), ValueKind::Text, o.columns[1]), std::string("\x1d" "B"));
  EXPECT_FALSE(normalise(std::nullopt, ValueKind::Text, o.columns[1]).has_value());
}

TEST(Comparator, ValuesAreNormalisedPerKind) {
  std::vector<Column> cols = {{"n", ValueKind::Numeric}, {"f", ValueKind::Float}, {"t", ValueKind::Timestamp},
                              {"b", ValueKind::Bool}, {"i", ValueKind::Integer}};
  auto a = answer({{"1.50", "0.1", "2026-01-01 10:00:05.120", "t", "007"}}, cols);
  auto b = answer({{"1.5", "0.1000000000000001", "2026-01-01 10:00:05.12", "true", "7"}}, cols);
  EXPECT_TRUE(compare(a, b, {}).equal);
  auto c = answer({{"1.51", "0.1", "2026-01-01 10:00:05.12", "t", "7"}}, cols);
  EXPECT_FALSE(compare(a, c, {}).equal);
  EXPECT_EQ(normalise(std::string("-0.000"), ValueKind::Numeric, {}), std::string("0"));
  EXPECT_EQ(normalise(std::string("010.10"), ValueKind::Numeric, {}), std::string("10.1"));
  EXPECT_EQ(normalise(std::string("2026-01-01 10:00:05.000+00"), ValueKind::Timestamp, {}),
            std::string("2026-01-01 10:00:05+00"));
  // Text is exact, NULL is NULL.
  EXPECT_FALSE(compare(answer({{"1", "a"}}), answer({{"1", "a "}}), {}).equal);
  EXPECT_FALSE(compare(answer({{"1", std::nullopt}}), answer({{"1", ""}}), {}).equal);
  EXPECT_TRUE(compare(answer({{"1", std::nullopt}}), answer({{"1", std::nullopt}}), {}).equal);
}

TEST(Comparator, IgnoredColumnsAreLeftOut) {
  std::vector<Column> cols = {{"id", ValueKind::Integer}, {"updated_at", ValueKind::Timestamp}};
  CompareOptions o;
  o.columns = {ColumnRule{}, ColumnRule{nullptr, true}};
  EXPECT_TRUE(compare(answer({{"1", "2026-01-01"}}, cols), answer({{"1", "2026-02-02"}}, cols), o).equal);
}

TEST(Comparator, OrderedAnswersCompareTieGroupsAsSets) {
  // ORDER BY status: rows tied on the key may come in any order.
  CompareOptions o = status_in_column_1();
  o.ordered = true;
  o.order_keys = {1};
  auto a = answer({{"1", "Delivered"}, {"2", "Delivered"}, {"3", "Dispatched"}});
  auto b = answer({{"2", "Delivered"}, {"1", "Delivered"}, {"3", "Shipped"}});
  EXPECT_TRUE(compare(a, b, o).equal);
  // ... but the groups' order counts.
  auto c = answer({{"3", "Dispatched"}, {"1", "Delivered"}, {"2", "Delivered"}});
  EXPECT_FALSE(compare(a, c, o).equal);
  // Under LIMIT the last tie group may hold other members of the tie.
  o.limited = true;
  auto d = answer({{"2", "Delivered"}, {"1", "Delivered"}, {"4", "Dispatched"}});
  EXPECT_TRUE(compare(a, d, o).equal);
  o.limited = false;
  EXPECT_FALSE(compare(a, d, o).equal);
}

TEST(Comparator, ACutWithoutAKnownOrderComparesRowCounts) {
  // LIMIT with no order the comparator can see: which rows come back is the
  // plan's choice, so only the count is compared ...
  CompareOptions o = status_in_column_1();
  o.limited = true;
  auto a = answer({{"1", "Delivered"}, {"2", "Delivered"}});
  auto b = answer({{"7", "Dispatched"}, {"9", "Delivered"}});
  EXPECT_TRUE(compare(a, b, o).equal);
  EXPECT_FALSE(compare(a, answer({{"1", "Delivered"}}), o).equal);
  // ... unless the answers are shorter than the LIMIT: then nothing was cut.
  o.limit = 3;
  EXPECT_FALSE(compare(a, b, o).equal);
  o.limit = 2;
  EXPECT_TRUE(compare(a, b, o).equal);
  // The same for the last tie group of an ordered answer.
  o.ordered = true;
  o.order_keys = {1};
  o.limit = 10;
  EXPECT_FALSE(compare(answer({{"1", "Delivered"}}), answer({{"2", "Delivered"}}), o).equal);
}

TEST(Comparator, ColumnsMustMatch) {
  auto c = compare(answer({{"1", "a"}}), answer({{"1"}}, {{"id", ValueKind::Integer}}), {});
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.reason, "column count 2 vs 1");
}

}  // namespace

// MySQL/MariaDB answers come as text-protocol values typed by the column's
// MYSQL_TYPE_* code.
TEST(Comparator, MysqlTypeCodesPickTheirKind) {
  EXPECT_EQ(mysql_value_kind(3), ValueKind::Integer);     // LONG
  EXPECT_EQ(mysql_value_kind(8), ValueKind::Integer);     // LONGLONG
  EXPECT_EQ(mysql_value_kind(246), ValueKind::Numeric);   // NEWDECIMAL
  EXPECT_EQ(mysql_value_kind(5), ValueKind::Float);       // DOUBLE
  EXPECT_EQ(mysql_value_kind(4), ValueKind::Float);       // FLOAT
  EXPECT_EQ(mysql_value_kind(12), ValueKind::Timestamp);  // DATETIME
  EXPECT_EQ(mysql_value_kind(7), ValueKind::Timestamp);   // TIMESTAMP
  EXPECT_EQ(mysql_value_kind(247), ValueKind::Text);      // ENUM (text protocol: STRING with ENUM_FLAG)
  EXPECT_EQ(mysql_value_kind(254), ValueKind::Text);      // STRING
  EXPECT_EQ(mysql_value_kind(253), ValueKind::Text);      // VAR_STRING
}

TEST(Comparator, MysqlTextValuesNormalisePerType) {
  auto cols = std::vector<Column>{{"id", mysql_value_kind(3)},     {"amount", mysql_value_kind(246)},
                                  {"ratio", mysql_value_kind(5)},  {"at", mysql_value_kind(12)},
                                  {"kind", mysql_value_kind(254)}};
  CompareOptions o;
  o.key_column = 0;
  // DECIMAL(10,2) against a DECIMAL(12,4) of the same value; a DOUBLE printed
  // with more digits; DATETIME(6) against DATETIME; an ENUM as its text.
  auto a = ResultSet{cols, {{"7", "12.50", "0.1", "2026-12-01 10:00:05.000000", "Dispatched"}}};
  auto b = ResultSet{cols, {{"7", "12.5000", "0.10000000000000000555", "2026-12-01 10:00:05", "Dispatched"}}};
  EXPECT_TRUE(compare(a, b, o).equal);
  // But a real difference in any of them is one.
  auto c = ResultSet{cols, {{"7", "12.51", "0.1", "2026-12-01 10:00:05", "Dispatched"}}};
  EXPECT_FALSE(compare(a, c, o).equal);
  auto d = ResultSet{cols, {{"7", "12.50", "0.1", "2026-12-01 10:00:05.1", "Dispatched"}}};
  EXPECT_FALSE(compare(a, d, o).equal);
  auto e = ResultSet{cols, {{"7", "12.50", "0.1", "2026-12-01 10:00:05", "dispatched"}}};  // text is exact
  EXPECT_FALSE(compare(a, e, o).equal);
  auto f = ResultSet{cols, {{"7", "12.50", "0.1001", "2026-12-01 10:00:05", "Dispatched"}}};
  EXPECT_FALSE(compare(a, f, o).equal);
}
