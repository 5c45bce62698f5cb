// What one shadow compare costs the proxy's CPU (Google Benchmark): answers of
// 1, 20 and 500 rows (id, status mapped through a 4-value map, amount as
// numeric, a timestamp), as a multiset and ordered by a unique key.
#include <benchmark/benchmark.h>

#include <string>
#include <unordered_map>

#include "proxy/shadow/comparator.h"

using namespace sy::shadow;

namespace {

const std::unordered_map<std::string, std::string> kMap = {
    {"Awaiting approval", "PENDING_APPROVAL"}, {"Dispatched", "DISPATCHED"}, {"Delivered", "DELIVERED"}, {"Lost", "LOST"}};
const char* kStatuses[] = {"Awaiting approval", "Dispatched", "Delivered", "Lost"};

ResultSet answer(int rows, bool reversed) {
  ResultSet r;
  r.columns = {{"id", ValueKind::Integer}, {"status", ValueKind::Text}, {"amount", ValueKind::Numeric},
               {"created", ValueKind::Timestamp}};
  for (int k = 0; k < rows; ++k) {
    int i = reversed ? rows - 1 - k : k;
    r.rows.push_back({std::to_string(i), std::string(kStatuses[i % 4]), std::to_string(i) + ".50",
                      "2026-01-01 10:00:" + std::to_string(10 + i % 50) + ".120"});
  }
  return r;
}

void Compare(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0));
  const bool ordered = state.range(1) != 0;
  auto a = answer(rows, false);
  auto b = answer(rows, !ordered);  // a multiset compare gets the rows in another order
  CompareOptions o;
  o.columns = {ColumnRule{}, ColumnRule{&kMap, false}};
  o.key_column = 0;
  o.ordered = ordered;
  if (ordered) o.order_keys = {0};
  for (auto _ : state) {
    auto c = compare(a, b, o);
    benchmark::DoNotOptimize(c.equal);
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(Compare)->ArgsProduct({{1, 20, 500}, {0, 1}})->ArgNames({"rows", "ordered"});

}  // namespace

BENCHMARK_MAIN();
