#!/usr/bin/env bash
# The soak: switchyard under mixed load for SOAK_SECONDS (default 1800, CI runs
# 180 as ctest bench.soak_3min), against a throwaway PostgreSQL 15 and MariaDB
# 10.11, all at once:
#   - pgbench through the proxy, -M prepared and -M simple side by side: an
#     UPDATE of the legacy column (the tenant dual-writes the unified one) and
#     a SELECT of both, on 100,000 rows;
#   - sysbench oltp_read_write through the proxy's MySQL listener;
#   - a reload every SOAK_RELOAD_EVERY s, alternating SIGHUP and POST /v1/reload;
#   - a PATCH every SOAK_FLIP_EVERY s cycling dual_write -> canary read_switch
#     10 % -> 50 % -> read_switch -> dual_write;
#   - shadow reads of the tenant's reads at sample_percent 10 (PostgreSQL).
# Every SOAK_SAMPLE_EVERY (10) s it samples the proxy's RSS and open fds
# (/proc) and the server connection counts (pg_stat_activity, PROCESSLIST).
#
# Exits non-zero on any client error (pgbench failed transactions or an
# aborted client; sysbench exiting non-zero, reconnecting, or retrying more
# than 1 % of transactions: its retries are InnoDB's own deadlocks 1213 and
# lock-wait timeouts 1205, as in test_mysql_clients), a failed reload or
# PATCH, any row where unified_status <> map(status), a shadow mismatch, the
# proxy dying, or memory growth: the largest RSS sampled in the last minute
# above the largest of the first minute by more than SOAK_RSS_GROWTH_MIB (16).
#
#   tests/bench/soak.sh                    # 30 minutes
#   SOAK_SECONDS=180 tests/bench/soak.sh   # the CI variant
#
# Environment (defaults): SOAK_SECONDS=1800 PG_CLIENTS=4 (per pgbench mode)
# SB_THREADS=4 SOAK_RELOAD_EVERY=5 SOAK_FLIP_EVERY=3 SOAK_SAMPLE_EVERY=10
# SOAK_RSS_GROWTH_MIB=16 SY_BIN=<repo>/build/switchyard. Needs pgbench,
# sysbench, psql and the mariadb client (deploy/install-deps.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
SY_BIN=${SY_BIN:-$repo/build/switchyard}
SOAK_SECONDS=${SOAK_SECONDS:-1800}
PG_CLIENTS=${PG_CLIENTS:-4}
SB_THREADS=${SB_THREADS:-4}
SOAK_RELOAD_EVERY=${SOAK_RELOAD_EVERY:-5}
SOAK_FLIP_EVERY=${SOAK_FLIP_EVERY:-3}
SOAK_SAMPLE_EVERY=${SOAK_SAMPLE_EVERY:-10}
SOAK_RSS_GROWTH_MIB=${SOAK_RSS_GROWTH_MIB:-16}

die() { printf 'soak: %s\n' "$*" >&2; exit 1; }
log() { printf 'soak: %s\n' "$*" >&2; }

[[ -x $SY_BIN ]] || die "$SY_BIN not found; build first (cmake --build build)"
for tool in "$PG_BIN/pgbench" sysbench mariadb curl; do
  command -v "$tool" > /dev/null || die "$tool missing; run deploy/install-deps.sh"
done
((SOAK_SECONDS >= 120)) || die "SOAK_SECONDS must be at least 120 (first and last minute are compared)"

# shellcheck source=tests/lib/test_env.sh
source "$repo/tests/lib/test_env.sh"

bench_scratch soak
sy_pid='' reloader_pid='' flipper_pid='' sampler_pid='' pgb_prepared_pid='' pgb_simple_pid='' sb_pid=''
bench_kill_on_exit reloader_pid flipper_pid sampler_pid pgb_prepared_pid pgb_simple_pid sb_pid sy_pid

bench_start_pg
bench_start_mariadb
psql_q() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres app "$@"; }

# --- schema -------------------------------------------------------------------
# The map below is the one the proxy's migration has; the check at the end
# compares with it in SQL.
map_sql="CASE status WHEN '1' THEN 'CREATED' WHEN '2' THEN 'PENDING_APPROVAL' WHEN '3' THEN 'APPROVED'
  WHEN '4' THEN 'IN_FULFILMENT' WHEN '5' THEN 'DISPATCHED' WHEN '6' THEN 'DELIVERED' WHEN '7' THEN 'CANCELLED' END"
psql_q > "$tmp/schema.log" 2>&1 <<'SQL' || { cat "$tmp/schema.log" >&2; die "schema failed"; }
DROP TABLE IF EXISTS soak_orders;
CREATE TABLE soak_orders (id int PRIMARY KEY, status text, unified_status text, note text);
INSERT INTO soak_orders SELECT i, '1', 'CREATED', 'seed' FROM generate_series(1, 100000) i;
VACUUM ANALYZE soak_orders;
SQL
cat > "$tmp/load.pgbench" <<'PGBENCH'
\set id random(1, 100000)
\set s random(1, 7)
UPDATE soak_orders SET status = :s, note = 'soak' WHERE id = :id;
SELECT status, unified_status FROM soak_orders WHERE id = :id;
PGBENCH

sb_conn=(--mysql-host=127.0.0.1 --mysql-user=sbtest --mysql-password=sbpass --mysql-db=sbtest --mysql-ssl=off
  --tables=4 --table-size=10000)
sysbench oltp_read_write "${sb_conn[@]}" --mysql-port="$MYPORT" cleanup > /dev/null 2>&1 || true
sysbench oltp_read_write "${sb_conn[@]}" --mysql-port="$MYPORT" --threads=4 prepare > "$tmp/sb-prepare.log" 2>&1 ||
  { cat "$tmp/sb-prepare.log" >&2; die "sysbench prepare failed"; }

# --- switchyard -----------------------------------------------------------------
sy_port=$(free_port) my_port=$(free_port) admin_port=$(free_port)
export SOAK_ADMIN_TOKEN=soak-token SOAK_PGPASSWORD=postgres
write_config() { # file marker: two configs that differ in one map entry, swapped per reload
  cat > "$1" <<YAML
runtime: { workers: 2 }
admin: { listen: 127.0.0.1:$admin_port, token_env: SOAK_ADMIN_TOKEN }
state_file: $tmp/state.json
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:$sy_port
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$PGPORT, tls: { mode: disable }, user: postgres, password_env: SOAK_PGPASSWORD }
    primary: legacy
  - name: my
    protocol: mysql
    listen: 127.0.0.1:$my_port
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$MYPORT, tls: { mode: disable } }
    primary: legacy
tenants:
  - name: soak
    match: { listener: pg, database: app }
    phase: dual_write
    shadow: { sample_percent: 10 }
    guard: { on_critical: freeze }
    migrations: [soak_status]
migrations:
  soak_status:
    table: soak_orders
    legacy_column: status
    unified_column: unified_status
    entity_column: id
    map: { "1": CREATED, "2": PENDING_APPROVAL, "3": APPROVED, "4": IN_FULFILMENT, "5": DISPATCHED,
           "6": DELIVERED, "7": CANCELLED, "9": $2 }
YAML
}
write_config "$tmp/switchyard.yaml" RELOADED_0
write_config "$tmp/config-a.yaml" RELOADED_0
write_config "$tmp/config-b.yaml" RELOADED_1
"$SY_BIN" check-config -c "$tmp/switchyard.yaml" > "$tmp/check.log" 2>&1 || { cat "$tmp/check.log" >&2; die "config refused"; }
"$SY_BIN" run -c "$tmp/switchyard.yaml" > "$tmp/switchyard.log" 2>&1 &
sy_pid=$!
wait_port "$sy_port" "$sy_pid" switchyard "$tmp/switchyard.log" || die "could not start it"
wait_port "$my_port" "$sy_pid" switchyard "$tmp/switchyard.log" || die "could not start it"
wait_port "$admin_port" "$sy_pid" switchyard "$tmp/switchyard.log" || die "no admin API"
admin() { # METHOD PATH [JSON] -> HTTP status on stdout
  curl -s -o "$tmp/admin.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $SOAK_ADMIN_TOKEN" \
    ${3:+-H 'Content-Type: application/json' -d "$3"} "http://127.0.0.1:$admin_port$2" || echo 000
}

start=$(date +%s)
end=$((start + SOAK_SECONDS))

# --- the background actors ----------------------------------------------------------
sample() { # one line: t rss_kib fds pg_conns my_conns
  local now rss fds pgc myc
  now=$(($(date +%s) - start))
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$sy_pid/status" 2>/dev/null || echo 0)
  fds=$(find "/proc/$sy_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  pgc=$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'" 2>/dev/null || echo '?')
  myc=$(mariadb -h127.0.0.1 -P"$MYPORT" -usbtest -psbpass -N -e 'SHOW PROCESSLIST' 2>/dev/null | wc -l || echo '?')
  printf '%s %s %s %s %s\n' "$now" "${rss:-0}" "$fds" "$pgc" "$myc" >> "$tmp/samples.txt"
}
sampler() { # every SOAK_SAMPLE_EVERY s until killed
  while :; do
    sample
    sleep "$SOAK_SAMPLE_EVERY"
  done
}

reloader() { # alternates SIGHUP and POST /v1/reload, swapping the two configs
  local i=0 code
  while (($(date +%s) < end - 2)); do
    sleep "$SOAK_RELOAD_EVERY"
    i=$((i + 1))
    if ((i % 2)); then cp "$tmp/config-b.yaml" "$tmp/switchyard.yaml.new"; else cp "$tmp/config-a.yaml" "$tmp/switchyard.yaml.new"; fi
    mv "$tmp/switchyard.yaml.new" "$tmp/switchyard.yaml"
    if ((i % 4 < 2)); then
      kill -HUP "$sy_pid" && echo sighup >> "$tmp/reloads.txt"
    else
      code=$(admin POST /v1/reload)
      echo "post $code" >> "$tmp/reloads.txt"
    fi
  done
}

flipper() { # PATCHes the tenant through dual_write and read_switch with canaries
  local i=0 code
  local -a steps=(
    '{"phase": "dual_write", "canary": {"phase": "read_switch", "percent": 10}}'
    '{"canary": {"phase": "read_switch", "percent": 50}}'
    '{"phase": "read_switch", "canary": {"percent": 0}}'
    '{"phase": "dual_write", "canary": {"percent": 0}}'
  )
  while (($(date +%s) < end - 2)); do
    sleep "$SOAK_FLIP_EVERY"
    code=$(admin PATCH /v1/tenants/soak "${steps[i % 4]}")
    echo "$code" >> "$tmp/flips.txt"
    [[ $code == 200 ]] || cp "$tmp/admin.out" "$tmp/flip-failed-$i.json"
    i=$((i + 1))
  done
}

log "${SOAK_SECONDS}s: pgbench -c $PG_CLIENTS prepared + simple, sysbench oltp_read_write --threads=$SB_THREADS," \
  "a reload every ${SOAK_RELOAD_EVERY}s, a PATCH every ${SOAK_FLIP_EVERY}s, shadow reads at 10 %"
sampler & sampler_pid=$!
(cd "$tmp" && exec "$PG_BIN/pgbench" -n -f "$tmp/load.pgbench" -c "$PG_CLIENTS" -j 1 -T "$SOAK_SECONDS" -M prepared \
  -h 127.0.0.1 -p "$sy_port" -U postgres app > "$tmp/pgbench-prepared.out" 2>&1) & pgb_prepared_pid=$!
(cd "$tmp" && exec "$PG_BIN/pgbench" -n -f "$tmp/load.pgbench" -c "$PG_CLIENTS" -j 1 -T "$SOAK_SECONDS" -M simple \
  -h 127.0.0.1 -p "$sy_port" -U postgres app > "$tmp/pgbench-simple.out" 2>&1) & pgb_simple_pid=$!
(cd "$tmp" && exec sysbench oltp_read_write "${sb_conn[@]}" --mysql-port="$my_port" --threads="$SB_THREADS" \
  --time="$SOAK_SECONDS" --report-interval=0 --mysql-ignore-errors=1213,1205 run > "$tmp/sysbench.out" 2>&1) & sb_pid=$!
reloader & reloader_pid=$!
flipper & flipper_pid=$!

failures=()
rc=0; wait "$pgb_prepared_pid" || rc=$?; pgb_prepared_pid=''
((rc == 0)) || failures+=("pgbench -M prepared exited with $rc")
rc=0; wait "$pgb_simple_pid" || rc=$?; pgb_simple_pid=''
((rc == 0)) || failures+=("pgbench -M simple exited with $rc")
rc=0; wait "$sb_pid" || rc=$?; sb_pid=''
((rc == 0)) || failures+=("sysbench exited with $rc")
wait "$reloader_pid" || failures+=("the reloader failed"); reloader_pid=''
wait "$flipper_pid" || failures+=("the flipper failed"); flipper_pid=''
# Clients gone: one more sample shows what the proxy and the servers keep.
sleep 2
kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=''
sample
kill -0 "$sy_pid" 2>/dev/null || failures+=("switchyard died (see $tmp/switchyard.log)")

# --- what the clients saw -------------------------------------------------------------
pgb_field() { # file label -> the number after "label:" (first field)
  awk -v l="$2:" 'index($0, l) == 1 { sub(l, ""); split($0, f, " "); split(f[1], g, "/"); print g[1]; exit }' "$1"
}
sb_field() { # label -> the count after "label:" in sysbench's summary
  awk -v l="$1:" '{ sub(/^[ \t]+/, "") } index($0, l) == 1 { sub(l, ""); split($0, f, " "); print f[1]; exit }' \
    "$tmp/sysbench.out"
}
declare -A tx=() failed=()
for mode in prepared simple; do
  out=$tmp/pgbench-$mode.out
  tx[$mode]=$(pgb_field "$out" 'number of transactions actually processed')
  failed[$mode]=$(pgb_field "$out" 'number of failed transactions')
  [[ -n ${tx[$mode]} ]] || { failures+=("no pgbench summary ($mode)"); tail -n 20 "$out" >&2; continue; }
  [[ ${failed[$mode]:-0} == 0 ]] || failures+=("pgbench -M $mode: ${failed[$mode]} failed transaction(s)")
  if grep -q 'aborted\|^pgbench: error' "$out"; then
    failures+=("pgbench -M $mode reported errors"); grep -m 5 'aborted\|^pgbench: error' "$out" >&2 || true
  fi
done
sb_tx=$(sb_field transactions) sb_retried=$(sb_field 'ignored errors') sb_reconnects=$(sb_field reconnects)
if [[ -z $sb_tx ]]; then
  failures+=("no sysbench summary"); tail -n 20 "$tmp/sysbench.out" >&2
else
  [[ ${sb_reconnects:-0} == 0 ]] || failures+=("sysbench reconnected $sb_reconnects time(s)")
  ((${sb_retried:-0} * 100 <= sb_tx)) || failures+=("sysbench retried $sb_retried of $sb_tx transactions (over 1 %)")
fi
reloads=$(wc -l < "$tmp/reloads.txt" 2>/dev/null || echo 0)
reloads_bad=$(grep -vc '^sighup$\|^post 200$' "$tmp/reloads.txt" 2>/dev/null || true)
reloads_taken=$(grep -c '"event":"config_reloaded"' "$tmp/switchyard.log" || true)
grep -q config_reload_failed "$tmp/switchyard.log" && failures+=("a reload failed (see $tmp/switchyard.log)")
((${reloads_bad:-0} == 0)) || failures+=("$reloads_bad reload request(s) refused")
flips=$(wc -l < "$tmp/flips.txt" 2>/dev/null || echo 0)
flips_bad=$(grep -vc '^200$' "$tmp/flips.txt" 2>/dev/null || true)
((${flips_bad:-0} == 0)) || failures+=("$flips_bad PATCH(es) refused (see $tmp/flip-failed-*.json)")
metric() { # name -> the sum of its samples
  curl -s "http://127.0.0.1:$admin_port/metrics" | awk -v m="switchyard_$1" '$1 ~ "^"m"({|$)" { s += $2 } END { print s + 0 }'
}
shadow_compared=$(metric shadow_compared_total) shadow_mismatches=$(metric shadow_mismatches_total)
shadow_dropped=$(metric shadow_dropped_total)
((shadow_mismatches == 0)) || failures+=("$shadow_mismatches shadow mismatch(es) (GET /v1/mismatches)")

# --- unified = map(legacy) over every row --------------------------------------------------
read -r rows written inconsistent < <(psql_q -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE note = 'soak'),
  count(*) FILTER (WHERE unified_status IS DISTINCT FROM ($map_sql)) FROM soak_orders")
((inconsistent == 0)) || failures+=("$inconsistent row(s) with unified_status <> map(status)")

# --- memory and descriptors over time ------------------------------------------------------------
read -r rss_first rss_last rss_min rss_max fd_first fd_last fd_min fd_max early late < <(awk -v total="$SOAK_SECONDS" '
  { t[NR] = $1; r[NR] = $2; f[NR] = $3 }
  END {
    rmin = fmin = 1e18; rmax = fmax = 0; early = late = 0
    for (i = 1; i <= NR; i++) {
      if (r[i] < rmin) rmin = r[i]; if (r[i] > rmax) rmax = r[i]
      if (f[i] < fmin) fmin = f[i]; if (f[i] > fmax) fmax = f[i]
      if (t[i] <= 60 && r[i] > early) early = r[i]
      if (t[i] >= total - 60 && t[i] <= total && r[i] > late) late = r[i]
    }
    print r[1], r[NR], rmin, rmax, f[1], f[NR], fmin, fmax, early, late
  }' "$tmp/samples.txt")
growth_kib=$((late - early))
((growth_kib <= SOAK_RSS_GROWTH_MIB * 1024)) ||
  failures+=("RSS grew $((growth_kib / 1024)) MiB from the first minute to the last (bound ${SOAK_RSS_GROWTH_MIB} MiB)")

# --- report ---------------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
printf '\nsoak: %ss, %s CPU(s), %s, %s\n\n' "$SOAK_SECONDS" "$(nproc)" "$("$PG_BIN/postgres" --version)" \
  "$(mariadb --version | awk '{ print $5 }' | tr -d ,)"
printf '| client | transactions | errors |\n|---|---:|---:|\n'
printf '| pgbench -M prepared -c %s | %s | %s |\n' "$PG_CLIENTS" "${tx[prepared]:-?}" "${failed[prepared]:-?}"
printf '| pgbench -M simple -c %s | %s | %s |\n' "$PG_CLIENTS" "${tx[simple]:-?}" "${failed[simple]:-?}"
printf '| sysbench oltp_read_write --threads=%s | %s | 0 (+%s deadlock/lock-wait retries, %s reconnects) |\n' \
  "$SB_THREADS" "${sb_tx:-?}" "${sb_retried:-?}" "${sb_reconnects:-?}"
printf '\nreloads: %s sent, %s taken (the file watch takes each swap too); PATCHes: %s (%s refused); shadow: %s compared, %s mismatches, %s dropped\n' \
  "$reloads" "$reloads_taken" "$flips" "${flips_bad:-0}" "$shadow_compared" "$shadow_mismatches" "$shadow_dropped"
printf 'rows: %s, %s written by the soak, %s inconsistent (unified_status <> map(status))\n' "$rows" "$written" "$inconsistent"
printf 'RSS MiB: first %s, last %s, min %s, max %s; first-minute max %s, last-minute max %s (growth %s, bound %s)\n' \
  "$(mib "$rss_first")" "$(mib "$rss_last")" "$(mib "$rss_min")" "$(mib "$rss_max")" "$(mib "$early")" "$(mib "$late")" \
  "$(mib "$growth_kib")" "$SOAK_RSS_GROWTH_MIB"
printf 'open fds: first %s, last %s (clients gone), min %s, max %s\n' "$fd_first" "$fd_last" "$fd_min" "$fd_max"
printf 'RSS MiB over time (s:MiB): %s\n' \
  "$(awk '{ printf "%s%s:%.1f", (NR > 1 ? " " : ""), $1, $2 / 1024 }' "$tmp/samples.txt")"
printf 'open fds over time (s:fds): %s\n' "$(awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $1, $3 }' "$tmp/samples.txt")"
# PostgreSQL: client backends, the sampler's own psql included (after the run:
# the proxy's shadow lanes, 4 per worker, stay connected). MariaDB: the
# sysbench account's threads, less the sampler's own.
printf 'server connections over time (s:pg/mariadb): %s\n' \
  "$(awk '{ printf "%s%s:%s/%s", (NR > 1 ? " " : ""), $1, $4, $5 - 1 }' "$tmp/samples.txt")"

if ((${#failures[@]})); then
  printf 'soak: FAILED\n' >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
printf 'soak: passed\n'
