#!/usr/bin/env bash
# Benchmark, not a test: sysbench OLTP TPS directly against MariaDB, through
# HAProxy (mode tcp, a plain relay) and through switchyard (a mysql listener,
# no tenants configured, so pure relay), side by side.
#
#   tests/bench/sysbench-compare.sh
#
# Needs deploy/install-deps.sh to have run and the proxy built (build/switchyard).
# Environment (defaults): ROUNDS=2 DURATION=10 (seconds per run) THREADS=8
# TESTS="oltp_point_select oltp_read_write" (sysbench's bundled OLTP scripts)
# TABLES=4 TABLE_SIZE=100000 PS_MODE=auto (sysbench --db-ps-mode: auto = binary
# protocol prepared statements, disable = COM_QUERY text)
# TARGETS="direct haproxy switchyard" (leave one out to skip it; its column shows n/a)
# SY_BIN=<repo>/build/switchyard SY_WORKERS=0 (switchyard I/O threads; 0 = one per core)
#
# All three paths are plaintext TCP on 127.0.0.1 (sysbench --mysql-ssl=off,
# HAProxy mode tcp, switchyard tls disable on both sides) so they do the same
# work. Runs alternate direct/haproxy/switchyard within each round, so drift in
# the machine's load (and oltp_read_write's growing undo/purge work) hits all
# three alike. On a small machine sysbench, the proxy and MariaDB compete for
# the same cores; read ratios, not absolute numbers.
#
# Any sysbench error fails the script: a non-zero exit, or a non-zero
# "ignored errors:" count (sysbench by default skips deadlocks and lock wait
# timeouts, 1213/1020/1205, and counts them there), or reconnects.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SY_BIN=${SY_BIN:-$repo/build/switchyard}
HAPROXY=/usr/sbin/haproxy
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
THREADS=${THREADS:-8}
TESTS=${TESTS:-oltp_point_select oltp_read_write}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-100000}
PS_MODE=${PS_MODE:-auto}
read -r -a TARGETS <<< "${TARGETS:-direct haproxy switchyard}"
ALL_TARGETS=(direct haproxy switchyard)

die() { printf 'sysbench-compare: %s\n' "$*" >&2; exit 1; }
log() { printf 'sysbench-compare: %s\n' "$*" >&2; }

wanted() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }

for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "TARGETS: unknown target $t (direct haproxy switchyard)"
done
((${#TARGETS[@]})) || die "TARGETS is empty"
case $PS_MODE in auto | disable) ;; *) die "PS_MODE must be auto or disable" ;; esac
command -v sysbench >/dev/null || die "sysbench missing; run deploy/install-deps.sh"
for t in $TESTS; do
  [[ -f /usr/share/sysbench/$t.lua || -f $t ]] || die "unknown sysbench test $t"
done
if wanted haproxy; then
  [[ -x $HAPROXY ]] || die "haproxy missing; run deploy/install-deps.sh"
fi
if wanted switchyard; then
  [[ -x $SY_BIN ]] || die "$SY_BIN not found; build first (cmake --build build)"
fi

# shellcheck source=tests/lib/test_env.sh
source "$repo/tests/lib/test_env.sh"

bench_scratch sysbench-compare
sy_pid='' haproxy_pid=''
bench_kill_on_exit sy_pid haproxy_pid

# --- MariaDB -----------------------------------------------------------------
bench_start_mariadb

# Connection options for a port; the account sbtest/sbpass owns database sbtest.
sb_conn() {
  printf '%s\n' --mysql-host=127.0.0.1 --mysql-port="$1" --mysql-user=sbtest \
    --mysql-password=sbpass --mysql-db=sbtest --mysql-ssl=off
}
mapfile -t direct_conn < <(sb_conn "$MYPORT")
table_opts=(--tables="$TABLES" --table-size="$TABLE_SIZE")

log "sysbench prepare: $TABLES tables x $TABLE_SIZE rows"
sysbench oltp_read_write "${direct_conn[@]}" "${table_opts[@]}" --threads="$TABLES" prepare \
  > "$tmp/sysbench-prepare.log" 2>&1 ||
  { cat "$tmp/sysbench-prepare.log" >&2; die "sysbench prepare failed"; }

# --- HAProxy -----------------------------------------------------------------
haproxy_port=''
if wanted haproxy; then
  haproxy_port=$(free_port)
  mkdir -p "$tmp/haproxy"
  cat > "$tmp/haproxy/haproxy.cfg" <<CFG
global
  maxconn 4000

defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h

frontend my
  bind 127.0.0.1:$haproxy_port
  default_backend mariadb

backend mariadb
  server mariadb 127.0.0.1:$MYPORT
CFG
  "$HAPROXY" -c -q -f "$tmp/haproxy/haproxy.cfg" > "$tmp/haproxy/check.log" 2>&1 ||
    { cat "$tmp/haproxy/check.log" >&2; die "haproxy rejected its config"; }
  # -db: stay in the foreground (so $! is HAProxy and the trap can kill it).
  "$HAPROXY" -db -f "$tmp/haproxy/haproxy.cfg" < /dev/null > "$tmp/haproxy/haproxy.log" 2>&1 &
  haproxy_pid=$!
  wait_port "$haproxy_port" "$haproxy_pid" haproxy "$tmp/haproxy/haproxy.log" || die "could not start it"
fi

# --- switchyard --------------------------------------------------------------
sy_port=''
if wanted switchyard; then
  sy_port=$(free_port)
  cat > "$tmp/switchyard.yaml" <<YAML
listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:$sy_port
    tls: { mode: disable }
    targets:
      legacy: { address: 127.0.0.1:$MYPORT, tls: { mode: disable } }
    primary: legacy
runtime: { workers: ${SY_WORKERS:-0} }
YAML
  "$SY_BIN" check-config -c "$tmp/switchyard.yaml" > "$tmp/switchyard-check.log" 2>&1 ||
    { cat "$tmp/switchyard-check.log" >&2; die "switchyard rejected $tmp/switchyard.yaml"; }
  "$SY_BIN" run -c "$tmp/switchyard.yaml" > "$tmp/switchyard.log" 2>&1 &
  sy_pid=$!
  wait_port "$sy_port" "$sy_pid" switchyard "$tmp/switchyard.log" || die "could not start it"
fi

# --- runs --------------------------------------------------------------------
declare -A port=([direct]=$MYPORT [haproxy]=$haproxy_port [switchyard]=$sy_port)
declare -A proxy_pid=([haproxy]=$haproxy_pid [switchyard]=$sy_pid)
declare -A tps_sum=() qps_sum=() query_sum=() tick_sum=()

field() { # label logfile -> the count after "label:" in sysbench's summary
  awk -v l="$1:" '{ sub(/^[ \t]+/, "") } index($0, l) == 1 {
    sub(l, ""); split($0, f, " "); print f[1]; exit }' "$2"
}
rate() { # label logfile -> the "(N per sec.)" after "label:"
  awk -v l="$1:" '{ sub(/^[ \t]+/, "") } index($0, l) == 1 {
    if (match($0, /\([0-9.]+ per sec\.\)/)) print substr($0, RSTART + 1, RLENGTH - 11); exit }' "$2"
}

run_sysbench() { # test target round -> "tps qps queries proxy-cpu-ticks" on stdout
  local out=$tmp/run-$1-$2-$3.log rc=0 tps qps queries errors reconnects conn ticks0=0 ticks1=0
  local proxy=${proxy_pid[$2]:-}
  mapfile -t conn < <(sb_conn "${port[$2]}")
  [[ -n $proxy ]] && ticks0=$(cpu_ticks "$proxy")
  sysbench "$1" "${conn[@]}" "${table_opts[@]}" --db-ps-mode="$PS_MODE" \
    --threads="$THREADS" --time="$DURATION" --report-interval=0 run > "$out" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$out" >&2
    die "sysbench $1 via $2 exited with $rc"
  fi
  [[ -n $proxy ]] && ticks1=$(cpu_ticks "$proxy")
  tps=$(rate transactions "$out")
  qps=$(rate queries "$out")
  queries=$(field queries "$out")
  errors=$(field 'ignored errors' "$out")
  reconnects=$(field reconnects "$out")
  [[ -n $tps && -n $qps && -n $queries && -n $errors ]] ||
    { cat "$out" >&2; die "no transactions/queries/ignored errors in sysbench output ($1 via $2)"; }
  if [[ $errors != 0 || ${reconnects:-0} != 0 ]]; then
    grep -i 'error\|warning\|fatal' "$out" | sort | uniq -c | sort -rn | head -n 20 >&2 || true
    die "sysbench $1 via $2: $errors ignored error(s), ${reconnects:-0} reconnect(s) (see $out)"
  fi
  printf '%s %s %s %s\n' "$tps" "$qps" "$queries" "$((ticks1 - ticks0))"
}

log "$ROUNDS round(s) x {$TESTS} x {${TARGETS[*]}}, ${DURATION}s each, --threads=$THREADS, --db-ps-mode=$PS_MODE"
for test in $TESTS; do
  for ((round = 1; round <= ROUNDS; round++)); do
    for target in "${TARGETS[@]}"; do
      result=$(run_sysbench "$test" "$target" "$round")
      read -r tps qps queries ticks <<< "$result"
      log "$test round $round $target: $tps tps, $qps qps"
      query_sum[$test.$target]=$((${query_sum[$test.$target]:-0} + queries))
      tick_sum[$test.$target]=$((${tick_sum[$test.$target]:-0} + ticks))
      tps_sum[$test.$target]=$(awk -v a="${tps_sum[$test.$target]:-0}" -v b="$tps" 'BEGIN { print a + b }')
      qps_sum[$test.$target]=$(awk -v a="${qps_sum[$test.$target]:-0}" -v b="$qps" 'BEGIN { print a + b }')
    done
  done
done

if [[ -n $haproxy_pid ]]; then
  kill -0 "$haproxy_pid" 2>/dev/null || die "haproxy died during the runs (see $tmp/haproxy/haproxy.log)"
fi
if [[ -n $sy_pid ]]; then
  kill -0 "$sy_pid" 2>/dev/null || die "switchyard died during the runs (see $tmp/switchyard.log)"
fi

# --- report ------------------------------------------------------------------
table() { # name of the sums array, unit
  local -n sums=$1
  printf '| test | direct %s | haproxy %s | switchyard %s | haproxy/direct | switchyard/direct | switchyard/haproxy |\n' \
    "$2" "$2" "$2"
  printf '|---|---:|---:|---:|---:|---:|---:|\n'
  for test in $TESTS; do
    awk -v t="$test" -v n="$ROUNDS" -v d="${sums[$test.direct]:-}" \
        -v h="${sums[$test.haproxy]:-}" -v s="${sums[$test.switchyard]:-}" '
      function avg(x) { return x == "" ? "n/a" : sprintf("%.0f", x / n) }
      function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.3f", a / b) }
      BEGIN {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", t, avg(d), avg(h), avg(s),
          ratio(h, d), ratio(s, d), ratio(s, h)
      }'
  done
}

printf '\n'
printf '%s, %s, %s, %s round(s), %s CPU(s)\n' \
  "$(/usr/sbin/mariadbd --version | sed 's/^.*Ver \([^ ]*\).*/MariaDB \1/')" \
  "$(sysbench --version)" "$("$HAPROXY" -v 2>/dev/null | head -n 1 | awk '{ print "HAProxy " $3 }')" \
  "$ROUNDS" "$(nproc)"
printf 'sysbench --threads=%s --time=%s --tables=%s --table-size=%s --db-ps-mode=%s --mysql-ssl=off\n' \
  "$THREADS" "$DURATION" "$TABLES" "$TABLE_SIZE" "$PS_MODE"
printf '\n'
table tps_sum TPS
printf '\nQueries per second (oltp_point_select: one query per transaction; oltp_read_write: 20 with BEGIN and COMMIT):\n\n'
table qps_sum QPS

# On a saturated small machine TPS moves with everything else running; the
# proxy's own CPU time per relayed query is the steadier measure of its cost.
printf '\nProxy CPU per query (user + system time of the proxy process during the runs / queries):\n\n'
# shellcheck disable=SC2086  # TESTS is a word list
proxy_cpu_table test haproxy query tick_sum query_sum $TESTS
