#!/usr/bin/env bash
# Benchmark, not a test: does a slow or dead shadow target cost the client
# anything? Two switchyard proxies in front of one PostgreSQL, identical but
# for shadow.sample_percent (0 and SAMPLE), both with shadow.target on a second
# PostgreSQL (the cutover plan's new cluster). pgbench at a fixed rate (-R)
# runs the select-only point read on a migrated table through each in turn,
# three times over: with the shadow target healthy, slowed (its table
# replaced by a view that calls pg_sleep per row) and stopped (SIGSTOP on
# every process of that server). Reported per condition: p50/p99 latency of
# both proxies and their ratio, each proxy's own CPU (user + system) per
# transaction, failed transactions, and the shadows dropped by reason.
#
# The read is `SELECT id, status FROM bench_orders WHERE id = :id`
# (tests/bench/shadow-read.pgbench): pgbench's built-in -S reads
# pgbench_accounts, which no migration names, so nothing would be shadowed.
#
#   tests/bench/shadow-slow-target.sh
#
# Environment (defaults): SAMPLE=10 RATE=1000 DURATION=15 ROUNDS=2 CLIENTS=8
# JOBS=2 SLEEP_MS=20 SY_BIN=<repo>/build/switchyard
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
SY_BIN=${SY_BIN:-$repo/build/switchyard}
RATE=${RATE:-1000}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-2}
CLIENTS=${CLIENTS:-8}
JOBS=${JOBS:-2}
SLEEP_MS=${SLEEP_MS:-20}
SAMPLE=${SAMPLE:-10}

die() { printf 'shadow-slow-target: %s\n' "$*" >&2; exit 1; }
log() { printf 'shadow-slow-target: %s\n' "$*" >&2; }
[[ -x $SY_BIN ]] || die "$SY_BIN not found; build first (cmake --build build)"

# shellcheck source=tests/lib/test_env.sh
source "$repo/tests/lib/test_env.sh"
bench_scratch shadow-slow-target
bench_start_pg
# The shadow target: a second server, started the same way.
bench_servers+=("pg_server.sh $tmp/pg2")
bash "$repo/tests/pg_server.sh" start "$tmp/pg2"
target_port=$(source "$tmp/pg2/env" && echo "$PGPORT")

# shellcheck source=tests/bench/shadow_bench_lib.sh
source "$repo/tests/bench/shadow_bench_lib.sh"
shadow_bench_load_table "$PGPORT"
shadow_bench_load_table "$target_port"
psql_target() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$target_port" -U postgres app "$@" >/dev/null; }

declare -A port=() pid=() admin=()
for p in 0 $SAMPLE; do
  port[$p]=$(free_port) admin[$p]=$(free_port)
  cat > "$tmp/sy-$p.yaml" <<YAML
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:${port[$p]}
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$PGPORT, user: postgres, database: app, tls: { mode: disable } }
      cluster2: { address: 127.0.0.1:$target_port, user: postgres, database: app, tls: { mode: disable } }
    primary: legacy
admin: { listen: 127.0.0.1:${admin[$p]} }
tenants:
  - name: bench
    match: { listener: pg, database: app }
    phase: dual_write
    shadow: { target: cluster2, sample_percent: $p, max_inflight: 64, timeout_ms: 2000 }
    migrations: [bench_orders]
YAML
  shadow_bench_migrations >> "$tmp/sy-$p.yaml"
  shadow_bench_start "$p"
done

target_pids() { # the target's postmaster and every child of it
  local pm
  pm=$(head -1 "$tmp/pg2/data/postmaster.pid")
  echo "$pm" $(cat "/proc/$pm/task/$pm/children" 2>/dev/null)
}
condition() { # healthy | slow | stopped
  case $1 in
    healthy) ;;
    slow)
      psql_target -c "ALTER TABLE bench_orders RENAME TO bench_orders_t" \
        -c "CREATE VIEW bench_orders AS SELECT * FROM bench_orders_t WHERE pg_sleep($SLEEP_MS / 1000.0) IS NOT NULL" ;;
    stopped) stopped_pids=$(target_pids); kill -STOP $stopped_pids ;;
  esac
}
undo() {
  case $1 in
    slow) psql_target -c "DROP VIEW bench_orders" -c "ALTER TABLE bench_orders_t RENAME TO bench_orders" ;;
    stopped) kill -CONT $stopped_pids ;;
    *) ;;
  esac
}

drops() { # admin-port: "reason=n ..." of shadow_dropped_total, and compared
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^switchyard_shadow_dropped_total\{/ { match($1, /reason="[^"]*"/); r = substr($1, RSTART + 8, RLENGTH - 9); d[r] += $2 }
    /^switchyard_shadow_compared_total/ { c += $2 }
    END { printf "compared=%d", c; for (r in d) if (d[r] > 0) printf " %s=%d", r, d[r] }'
}

declare -A lat=() failed=() dropped=() ticks=() tx=()
proxy_cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # user + system, in clock ticks
hz=$(getconf CLK_TCK)
per_tx() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }'; }
conditions="healthy slow stopped"
for ((round = 1; round <= ROUNDS; round++)); do
  for c in $conditions; do
    condition "$c"
    for p in 0 $SAMPLE; do
      prefix=$tmp/lat-$c-$p-$round
      out=$prefix.out
      cpu0=$(proxy_cpu "${pid[$p]}")
      "$PG_BIN/pgbench" -n -f "$repo/tests/bench/shadow-read.pgbench" -c "$CLIENTS" -j "$JOBS" -T "$DURATION" \
        -R "$RATE" -M prepared -l --log-prefix="$prefix" -h 127.0.0.1 -p "${port[$p]}" -U postgres app \
        > "$out" 2>&1 || { cat "$out" >&2; undo "$c"; die "pgbench failed"; }
      cat "$prefix".* 2>/dev/null | awk '{ print $3 }' >> "$tmp/all-$c-$p"
      ticks[$c,$p]=$((${ticks[$c,$p]:-0} + $(proxy_cpu "${pid[$p]}") - cpu0))
      tx[$c,$p]=$((${tx[$c,$p]:-0} + $(awk '/number of transactions actually processed/ { print $NF }' "$out")))
      f=$(awk '/number of failed transactions/ { print $5 }' "$out")
      failed[$c,$p]=$((${failed[$c,$p]:-0} + ${f:-0}))
      log "round $round, target $c, sample_percent $p: $(awk '/^latency average/ { print $4 " ms avg" }' "$out"), failed ${f:-0}"
    done
    undo "$c"
    sleep 2 # shadows queued against a stopped target time out before the next condition
    dropped[$c]=$(drops "${admin[$SAMPLE]}")
  done
done

pct() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(NR * q); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }'; }
printf '\n%s, pgbench -M prepared -c %s -j %s -R %s -T %s, %s round(s), %s CPU(s); shadow target slowed by %s ms per read\n\n' \
  "$("$PG_BIN/postgres" --version)" "$CLIENTS" "$JOBS" "$RATE" "$DURATION" "$ROUNDS" "$(nproc)" "$SLEEP_MS"
printf '| shadow target | p50 off / %s %% (ms) | p99 off / %s %% (ms) | p99 ratio | proxy CPU µs/tx off / %s %% | failed tx | shadow outcomes (cumulative) |\n|---|---:|---:|---:|---:|---:|---|\n' "$SAMPLE" "$SAMPLE" "$SAMPLE"
for c in $conditions; do
  p50o=$(pct "$tmp/all-$c-0" 0.50) p50s=$(pct "$tmp/all-$c-$SAMPLE" 0.50)
  p99o=$(pct "$tmp/all-$c-0" 0.99) p99s=$(pct "$tmp/all-$c-$SAMPLE" 0.99)
  printf '| %s | %s / %s | %s / %s | %s | %s / %s | %d | %s |\n' "$c" "$p50o" "$p50s" "$p99o" "$p99s" \
    "$(awk -v a="$p99s" -v b="$p99o" 'BEGIN { printf "%.3f", a / b }')" \
    "$(per_tx "${ticks[$c,0]}" "${tx[$c,0]}")" "$(per_tx "${ticks[$c,$SAMPLE]}" "${tx[$c,$SAMPLE]}")" \
    "$((failed[$c,0] + failed[$c,$SAMPLE]))" "${dropped[$c]}"
done
