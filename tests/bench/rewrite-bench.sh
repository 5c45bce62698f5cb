#!/usr/bin/env bash
# Benchmark, not a test: per-statement cost of the rewrite decision (Google
# Benchmark). Builds the target if needed and prints the table.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cmake --build "$repo/build" --target rewrite_bench >/dev/null
exec "$repo/build/tests/bench/rewrite_bench" --benchmark_min_time=0.5 "$@"
