#!/usr/bin/env bash
# Benchmark, not a test: what reloading the config costs the sessions running
# through switchyard. The same pgbench load (50 clients, -M prepared, an
# UPDATE of the legacy column with the tenant in dual_write plus a SELECT)
# runs twice in one proxy: once quiet, once while the config is reloaded by
# SIGHUP (100 times, spread over the run). Prints p50/p99 latency of both from
# pgbench's per-transaction logs, and the ratio.
#
#   tests/bench/reload-under-load.sh
#
# Needs deploy/install-deps.sh to have run and the proxy built (build/switchyard).
# Environment (defaults): DURATION=10 (seconds per run) CLIENTS=50 JOBS=2
# RELOADS=100 ROUNDS=1 (quiet/reload pairs) SY_BIN=<repo>/build/switchyard
# tests/integration/test_session_layer_pg.py (ReloadUnderLoad) is the short
# pass/fail version: 0 failed transactions and every reload taken.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
SY_BIN=${SY_BIN:-$repo/build/switchyard}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-50}
JOBS=${JOBS:-2}
RELOADS=${RELOADS:-100}
ROUNDS=${ROUNDS:-1}

die() { printf 'reload-under-load: %s\n' "$*" >&2; exit 1; }
log() { printf 'reload-under-load: %s\n' "$*" >&2; }

[[ -x $SY_BIN ]] || die "$SY_BIN not found; build first (cmake --build build)"

# shellcheck source=tests/lib/test_env.sh
source "$repo/tests/lib/test_env.sh"

bench_scratch reload-under-load
sy_pid='' reloader_pid=''
bench_kill_on_exit reloader_pid sy_pid

# --- PostgreSQL -------------------------------------------------------------
bench_start_pg
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres app > "$tmp/schema.log" 2>&1 <<'SQL' ||
DROP TABLE IF EXISTS sl_reload;
CREATE TABLE sl_reload (id int PRIMARY KEY, status text, unified_status text);
INSERT INTO sl_reload SELECT i, '0', 'CREATED' FROM generate_series(1, 100000) i;
VACUUM ANALYZE sl_reload;
SQL
  { cat "$tmp/schema.log" >&2; die "schema failed"; }
cat > "$tmp/load.pgbench" <<'PGBENCH'
\set id random(1, 100000)
\set s random(1, 3)
UPDATE sl_reload SET status = :s WHERE id = :id;
SELECT status, unified_status FROM sl_reload WHERE id = :id;
PGBENCH

# --- switchyard: two configs that differ in one map entry, swapped per reload --
sy_port=$(free_port)
write_config() { # file marker
  cat > "$1" <<YAML
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:$sy_port
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$PGPORT, tls: { mode: disable } }
    primary: legacy
tenants:
  - name: bench
    match: { listener: pg, database: app }
    phase: dual_write
    migrations: [sl_status]
migrations:
  sl_status:
    table: sl_reload
    legacy_column: status
    unified_column: unified_status
    map: { "0": CREATED, "1": PENDING_APPROVAL, "2": DISPATCHED, "3": DELIVERED, "9": $2 }
YAML
}
write_config "$tmp/switchyard.yaml" RELOADED_0
write_config "$tmp/config-a.yaml" RELOADED_0
write_config "$tmp/config-b.yaml" RELOADED_1
"$SY_BIN" run -c "$tmp/switchyard.yaml" > "$tmp/switchyard.log" 2>&1 &
sy_pid=$!
wait_port "$sy_port" "$sy_pid" switchyard "$tmp/switchyard.log" || die "could not start it"

reloads_logged() { grep -c '"event":"config_reloaded","who":"sighup"' "$tmp/switchyard.log" || true; }

# Sends $RELOADS SIGHUPs spread over the run, each after the previous one is
# logged (so none is merged with another), alternating the two configs.
reloader() {
  local i base pause
  base=$(reloads_logged)
  pause=$(awk -v d="$DURATION" -v n="$RELOADS" 'BEGIN { printf "%.3f", d * 0.8 / n }')
  sleep 0.5
  for ((i = 1; i <= RELOADS; i++)); do
    if ((i % 2)); then cp "$tmp/config-b.yaml" "$tmp/switchyard.yaml.new"; else cp "$tmp/config-a.yaml" "$tmp/switchyard.yaml.new"; fi
    mv "$tmp/switchyard.yaml.new" "$tmp/switchyard.yaml"
    kill -HUP "$sy_pid"
    while (($(reloads_logged) < base + i)); do sleep 0.02; done
    sleep "$pause"
  done
}

# run NAME -> "transactions failed p50_ms p99_ms reloads" on stdout
run() {
  local name=$1 dir=$tmp/$1 out before after
  mkdir -p "$dir"
  out=$dir/pgbench.out
  before=$(reloads_logged)
  [[ $name == reload-* ]] && { reloader & reloader_pid=$!; }
  (cd "$dir" && "$PG_BIN/pgbench" -n -f "$tmp/load.pgbench" -c "$CLIENTS" -j "$JOBS" -T "$DURATION" -M prepared \
    -l --log-prefix=tx -h 127.0.0.1 -p "$sy_port" -U postgres app > "$out" 2>&1) ||
    { cat "$out" >&2; die "pgbench failed ($name)"; }
  if [[ -n $reloader_pid ]]; then
    wait "$reloader_pid" || die "reloader failed ($name)"
    reloader_pid=''
  fi
  after=$(reloads_logged)
  local tx failed
  tx=$(awk -F': ' '/^number of transactions actually processed/ { split($2, f, "/"); print f[1] }' "$out")
  failed=$(awk '/^number of failed transactions/ { print $5 }' "$out")
  # Field 3 of a pgbench log line is the transaction's latency in microseconds.
  cat "$dir"/tx.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | awk -v tx="$tx" -v failed="$failed" \
    -v reloads="$((after - before))" '
    { v[NR] = $1 }
    END {
      if (NR == 0) exit 1
      p50 = v[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]
      p99 = v[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
      printf "%s %s %.3f %.3f %d\n", tx, failed, p50 / 1000, p99 / 1000, reloads
    }'
}

log "$ROUNDS round(s) of {quiet, $RELOADS reloads}, ${DURATION}s each, pgbench -c $CLIENTS -j $JOBS -M prepared"
declare -A result=()
for ((round = 1; round <= ROUNDS; round++)); do
  for name in quiet reload; do
    result[$name.$round]=$(run "$name-$round")
    log "round $round $name: ${result[$name.$round]} (tx failed p50 p99 reloads)"
  done
done
kill -0 "$sy_pid" 2>/dev/null || die "switchyard died during the runs (see $tmp/switchyard.log)"
grep -q config_reload_failed "$tmp/switchyard.log" && die "a reload failed (see $tmp/switchyard.log)"

# --- report ------------------------------------------------------------------
printf '\n%s, pgbench -c %s -j %s -T %s -M prepared, dual_write UPDATE + SELECT, %s CPU(s)\n\n' \
  "$("$PG_BIN/postgres" --version)" "$CLIENTS" "$JOBS" "$DURATION" "$(nproc)"
printf '| round | run | transactions | failed | reloads | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|---:|\n'
for ((round = 1; round <= ROUNDS; round++)); do
  for name in quiet reload; do
    read -r tx failed p50 p99 reloads <<< "${result[$name.$round]}"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$name" "$tx" "$failed" "$reloads" "$p50" "$p99"
  done
  read -r _ _ _ quiet_p99 _ <<< "${result[quiet.$round]}"
  read -r _ _ _ reload_p99 _ <<< "${result[reload.$round]}"
  awk -v q="$quiet_p99" -v r="$reload_p99" -v n="$round" \
    'BEGIN { printf "\nround %s: p99 with reloads / p99 quiet = %.3f\n", n, (q > 0 ? r / q : 0) }'
done
