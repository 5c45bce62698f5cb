#!/usr/bin/env bash
# Benchmark, not a test: what shadow reads cost. pgbench select-only
# (`SELECT id, status FROM bench_orders WHERE id = :id`, a read the read switch
# touches, -M prepared) through three switchyard proxies whose tenant is in
# dual_write with shadow.sample_percent 0, 10 and 100, alternating within each
# round. Reported per sample_percent: TPS, the proxy's CPU per transaction
# (/proc/<pid>/stat) and the database's (the postmaster with its reaped
# children plus its live ones), so the drop splits into "the database reads
# twice" and "the proxy shadows".
#
#   tests/bench/shadow-bench.sh
#
# Environment (defaults): ROUNDS=2 DURATION=10 CLIENTS=8 JOBS=2 SY_WORKERS=0
# PERCENTS="0 10 100" SY_BIN=<repo>/build/switchyard
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
SY_BIN=${SY_BIN:-$repo/build/switchyard}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
JOBS=${JOBS:-2}
PERCENTS=${PERCENTS:-0 10 100}

die() { printf 'shadow-bench: %s\n' "$*" >&2; exit 1; }
log() { printf 'shadow-bench: %s\n' "$*" >&2; }
[[ -x $SY_BIN ]] || die "$SY_BIN not found; build first (cmake --build build)"

# shellcheck source=tests/lib/test_env.sh
source "$repo/tests/lib/test_env.sh"
bench_scratch shadow-bench
bench_start_pg
# shellcheck source=tests/bench/shadow_bench_lib.sh
source "$repo/tests/bench/shadow_bench_lib.sh"
shadow_bench_load_table "$PGPORT"

# The database's CPU so far: the postmaster's own and its reaped children's
# (fields 14-17 of /proc/PID/stat), plus its children still alive.
postmaster=$(head -1 "$tmp/pg/data/postmaster.pid")
db_ticks() {
  local stat total child
  stat=$(< "/proc/$postmaster/stat")
  stat=${stat##*) }
  total=$(awk '{ print $12 + $13 + $14 + $15 }' <<< "$stat")
  for child in $(cat "/proc/$postmaster/task/$postmaster/children" 2>/dev/null); do
    total=$((total + $(cpu_ticks "$child" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

declare -A port=() pid=() admin=()
for p in $PERCENTS; do
  port[$p]=$(free_port) admin[$p]=$(free_port)
  cat > "$tmp/sy-$p.yaml" <<YAML
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:${port[$p]}
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$PGPORT, user: postgres, database: app, tls: { mode: disable } }
    primary: legacy
runtime: { workers: ${SY_WORKERS:-0} }
admin: { listen: 127.0.0.1:${admin[$p]} }
tenants:
  - name: bench
    match: { listener: pg, database: app }
    phase: dual_write
    shadow: { sample_percent: $p, max_inflight: 512, timeout_ms: 5000 }
    migrations: [bench_orders]
YAML
  shadow_bench_migrations >> "$tmp/sy-$p.yaml"
  shadow_bench_start "$p"
done

declare -A tps_sum=() tx_sum=() sy_ticks=() db_sum=()
for ((round = 1; round <= ROUNDS; round++)); do
  for p in $PERCENTS; do
    out=$tmp/run-$p-$round.log
    s0=$(cpu_ticks "${pid[$p]}") d0=$(db_ticks)
    "$PG_BIN/pgbench" -n -f "$repo/tests/bench/shadow-read.pgbench" -c "$CLIENTS" -j "$JOBS" -T "$DURATION" \
      -M prepared -h 127.0.0.1 -p "${port[$p]}" -U postgres app > "$out" 2>&1 || { cat "$out" >&2; die "pgbench failed"; }
    sleep 1 # the last shadows finish, the backends exit and are reaped
    s1=$(cpu_ticks "${pid[$p]}") d1=$(db_ticks)
    tps=$(awk '/^tps = .*without initial connection time/ { print $3 }' "$out")
    tx=$(awk -F': ' '/^number of transactions actually processed/ { split($2, f, "/"); print f[1] }' "$out")
    log "round $round sample_percent $p: $tps tps"
    tps_sum[$p]=$(awk -v a="${tps_sum[$p]:-0}" -v b="$tps" 'BEGIN { print a + b }')
    tx_sum[$p]=$((${tx_sum[$p]:-0} + tx))
    sy_ticks[$p]=$((${sy_ticks[$p]:-0} + s1 - s0))
    db_sum[$p]=$((${db_sum[$p]:-0} + d1 - d0))
  done
done

printf '\n%s, pgbench -M prepared -c %s -j %s -T %s, %s round(s), %s CPU(s)\n\n' \
  "$("$PG_BIN/postgres" --version)" "$CLIENTS" "$JOBS" "$DURATION" "$ROUNDS" "$(nproc)"
printf '| sample_percent | TPS | vs 0 | proxy CPU µs/tx | database CPU µs/tx | compared | dropped |\n|---:|---:|---:|---:|---:|---:|---:|\n'
base=$(awk -v s="${tps_sum[${PERCENTS%% *}]}" -v n="$ROUNDS" 'BEGIN { print s / n }')
for p in $PERCENTS; do
  metrics=$(curl -s "http://127.0.0.1:${admin[$p]}/metrics")
  family() { awk -v f="switchyard_$1" '$1 ~ "^"f"[{ ]" || $1 == f { n += $2 } END { printf "%d", n }' <<< "$metrics"; }
  printf '| %s | %.0f | %.3f | %s | %s | %s | %s |\n' "$p" "$(awk -v s="${tps_sum[$p]}" -v n="$ROUNDS" 'BEGIN { print s / n }')" \
    "$(awk -v s="${tps_sum[$p]}" -v n="$ROUNDS" -v b="$base" 'BEGIN { print s / n / b }')" \
    "$(cpu_us_per "${sy_ticks[$p]}" "${tx_sum[$p]}")" "$(cpu_us_per "${db_sum[$p]}" "${tx_sum[$p]}")" \
    "$(family shadow_compared_total)" "$(family shadow_dropped_total)"
done
