#!/usr/bin/env bash
# Benchmark, not a test: pgbench select-only TPS directly against PostgreSQL,
# through PgBouncer (session pooling) and through switchyard (phase: none
# configured, so pure relay), side by side.
#
#   tests/bench/pgbench-compare.sh
#
# Needs deploy/install-deps.sh to have run and the proxy built (build/switchyard).
# Environment (defaults): ROUNDS=2 DURATION=10 (seconds per run) CLIENTS=8 JOBS=2
# SCALE=10 MODES="prepared simple" SY_BIN=<repo>/build/switchyard
# SY_WORKERS=0 (switchyard I/O threads; 0 = one per core)
# WORKLOAD=select-only (pgbench -S) or dual-write: `UPDATE bench_orders SET
#   status = :s WHERE id = :id` over 100 000 rows, where direct and PgBouncer
#   run with a BEFORE UPDATE trigger mapping legacy -> unified and switchyard
#   runs with the trigger disabled and the tenant in dual_write (MODES defaults
#   to prepared for it).
#
# All three paths are plaintext TCP on 127.0.0.1 (PGSSLMODE=disable, PgBouncer's
# server_tls_sslmode=disable, switchyard tls disable) so they do the same work.
# Runs alternate direct/pgbouncer/switchyard within each round, so drift in the
# machine's load hits all three alike. On a small machine pgbench, the proxy and
# PostgreSQL compete for the same cores; read ratios, not absolute numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
SY_BIN=${SY_BIN:-$repo/build/switchyard}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
JOBS=${JOBS:-2}
SCALE=${SCALE:-10}
WORKLOAD=${WORKLOAD:-select-only}
case $WORKLOAD in
  select-only) MODES=${MODES:-prepared simple} ;;
  dual-write) MODES=${MODES:-prepared} ;;
  *) echo "pgbench-compare: WORKLOAD must be select-only or dual-write" >&2; exit 2 ;;
esac
TARGETS=(direct pgbouncer switchyard)

die() { printf 'pgbench-compare: %s\n' "$*" >&2; exit 1; }
log() { printf 'pgbench-compare: %s\n' "$*" >&2; }

[[ -x $SY_BIN ]] || die "$SY_BIN not found; build first (cmake --build build)"
[[ -x /usr/sbin/pgbouncer ]] || die "pgbouncer missing; run deploy/install-deps.sh"

# shellcheck source=tests/lib/test_env.sh
source "$repo/tests/lib/test_env.sh"

bench_scratch pgbench-compare
sy_pid='' bouncer_pid=''
bench_kill_on_exit sy_pid bouncer_pid # pgbouncer daemonizes: killed, not reaped

# --- PostgreSQL -------------------------------------------------------------
bench_start_pg
log "pgbench -i -s $SCALE"
"$PG_BIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PGPORT" -U postgres app \
  > "$tmp/pgbench-init.log" 2>&1 || { cat "$tmp/pgbench-init.log" >&2; die "pgbench -i failed"; }
psql_direct() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres app "$@"; }
if [[ $WORKLOAD == dual-write ]]; then
  psql_direct -f "$repo/tests/bench/dualwrite-schema.sql" > "$tmp/schema.log" 2>&1 ||
    { cat "$tmp/schema.log" >&2; die "dual-write schema failed"; }
fi

# --- PgBouncer (refuses to run as root, so it runs as postgres) ---------------
bouncer_port=$(free_port)
mkdir -p "$tmp/pgbouncer"
printf '"postgres" ""\n' > "$tmp/pgbouncer/userlist.txt"
cat > "$tmp/pgbouncer/pgbouncer.ini" <<INI
[databases]
app = host=127.0.0.1 port=$PGPORT dbname=app

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $tmp/pgbouncer/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 20
server_tls_sslmode = disable
client_tls_sslmode = disable
logfile = $tmp/pgbouncer/pgbouncer.log
pidfile = $tmp/pgbouncer/pgbouncer.pid
INI
if [[ $EUID -eq 0 ]]; then
  chown -R postgres "$tmp/pgbouncer"
  (cd / && runuser -u postgres -- /usr/sbin/pgbouncer -d "$tmp/pgbouncer/pgbouncer.ini")
else
  /usr/sbin/pgbouncer -d "$tmp/pgbouncer/pgbouncer.ini"
fi
for ((i = 0; i < 50; i++)); do
  [[ -s $tmp/pgbouncer/pgbouncer.pid ]] && break
  sleep 0.1
done
bouncer_pid=$(cat "$tmp/pgbouncer/pgbouncer.pid" 2>/dev/null) || die "pgbouncer did not start"
wait_port "$bouncer_port" "$bouncer_pid" pgbouncer "$tmp/pgbouncer/pgbouncer.log" || die "could not start it"

# --- switchyard --------------------------------------------------------------
sy_port=$(free_port)
cat > "$tmp/switchyard.yaml" <<YAML
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:$sy_port
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$PGPORT, tls: { mode: disable } }
    primary: legacy
runtime: { workers: ${SY_WORKERS:-0} }
YAML
if [[ $WORKLOAD == dual-write ]]; then
  cat >> "$tmp/switchyard.yaml" <<YAML
tenants:
  - name: bench
    match: { listener: pg, database: app }
    phase: dual_write
    migrations: [bench_orders]
migrations:
  bench_orders:
    table: bench_orders
    legacy_column: status
    unified_column: unified_status
    map: { "1": CREATED, "2": PENDING_APPROVAL, "3": APPROVED, "4": IN_FULFILMENT, "5": DISPATCHED,
           "6": DELIVERED, "7": CANCELLED }
YAML
fi
"$SY_BIN" run -c "$tmp/switchyard.yaml" > "$tmp/switchyard.log" 2>&1 &
sy_pid=$!
wait_port "$sy_port" "$sy_pid" switchyard "$tmp/switchyard.log" || die "could not start it"

# --- runs --------------------------------------------------------------------
declare -A port=([direct]=$PGPORT [pgbouncer]=$bouncer_port [switchyard]=$sy_port)
declare -A proxy_pid=([pgbouncer]=$bouncer_pid [switchyard]=$sy_pid)
declare -A sum=() tx_sum=() tick_sum=()

run_pgbench() { # mode target round -> "tps transactions proxy-cpu-ticks" on stdout
  local out=$tmp/run-$1-$2-$3.log tps tx workload=(-S) proxy=${proxy_pid[$2]:-} ticks0=0 ticks1=0
  if [[ $WORKLOAD == dual-write ]]; then
    # The trigger does the mapping for direct and PgBouncer; switchyard does it on the wire.
    local action=ENABLE
    [[ $2 == switchyard ]] && action=DISABLE
    psql_direct -c "ALTER TABLE bench_orders $action TRIGGER bench_orders_dual_write" >/dev/null
    workload=(-f "$repo/tests/bench/dualwrite.pgbench")
  fi
  [[ -n $proxy ]] && ticks0=$(cpu_ticks "$proxy")
  "$PG_BIN/pgbench" -n "${workload[@]}" -c "$CLIENTS" -j "$JOBS" -T "$DURATION" -M "$1" \
    -h 127.0.0.1 -p "${port[$2]}" -U postgres app > "$out" 2>&1 ||
    { cat "$out" >&2; die "pgbench failed: $1 via $2"; }
  [[ -n $proxy ]] && ticks1=$(cpu_ticks "$proxy")
  tps=$(awk '/^tps = .*without initial connection time/ { print $3 }' "$out")
  tx=$(awk -F': ' '/^number of transactions actually processed/ { split($2, f, "/"); print f[1] }' "$out")
  [[ -n $tps && -n $tx ]] || { cat "$out" >&2; die "no tps in pgbench output ($1 via $2)"; }
  printf '%s %s %s\n' "$tps" "$tx" "$((ticks1 - ticks0))"
}

log "$ROUNDS round(s) x {$MODES} x {${TARGETS[*]}}, ${DURATION}s each, -c $CLIENTS -j $JOBS"
for mode in $MODES; do
  for ((round = 1; round <= ROUNDS; round++)); do
    for target in "${TARGETS[@]}"; do
      result=$(run_pgbench "$mode" "$target" "$round")
      read -r tps tx ticks <<< "$result"
      tx_sum[$mode.$target]=$((${tx_sum[$mode.$target]:-0} + tx))
      tick_sum[$mode.$target]=$((${tick_sum[$mode.$target]:-0} + ticks))
      log "$mode round $round $target: $tps tps"
      sum[$mode.$target]=$(awk -v a="${sum[$mode.$target]:-0}" -v b="$tps" 'BEGIN { print a + b }')
    done
  done
done

kill -0 "$sy_pid" 2>/dev/null || die "switchyard died during the runs (see $tmp/switchyard.log)"
if [[ $WORKLOAD == dual-write ]]; then
  bad=$(psql_direct -At -c "SELECT count(*) FROM bench_orders WHERE unified_status IS DISTINCT FROM
    (ARRAY['CREATED','PENDING_APPROVAL','APPROVED','IN_FULFILMENT','DISPATCHED','DELIVERED','CANCELLED'])[status::int]")
  [[ $bad == 0 ]] || die "$bad rows where unified_status does not match status"
  log "all 100000 rows consistent after the runs"
fi

# --- report ------------------------------------------------------------------
printf '\n'
printf '%s, workload %s, pgbench -c %s -j %s -T %s, scale %s, %s round(s), %s CPU(s)\n' \
  "$("$PG_BIN/postgres" --version)" "$WORKLOAD" "$CLIENTS" "$JOBS" "$DURATION" "$SCALE" "$ROUNDS" "$(nproc)"
[[ $WORKLOAD == dual-write ]] && printf 'direct and pgbouncer map legacy -> unified with a BEFORE UPDATE trigger; switchyard rewrites in dual_write, trigger disabled\n'
printf '\n' 
printf '| mode | direct TPS | pgbouncer TPS | switchyard TPS | pgbouncer/direct | switchyard/direct | switchyard/pgbouncer |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
for mode in $MODES; do
  awk -v m="$mode" -v n="$ROUNDS" -v d="${sum[$mode.direct]}" \
      -v b="${sum[$mode.pgbouncer]}" -v s="${sum[$mode.switchyard]}" 'BEGIN {
    d /= n; b /= n; s /= n
    printf "| %s | %.0f | %.0f | %.0f | %.3f | %.3f | %.3f |\n", m, d, b, s,
      (d ? b / d : 0), (d ? s / d : 0), (b ? s / b : 0)
  }'
done

printf '\nProxy CPU per transaction (user + system time of the proxy process during the runs / transactions):\n\n'
# shellcheck disable=SC2086  # MODES is a word list
proxy_cpu_table mode pgbouncer tx tick_sum tx_sum $MODES
