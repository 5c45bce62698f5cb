# shellcheck shell=bash
# Shared by the test-server scripts, the benchmarks and the quickstart
# (sourced, not run).

# A free TCP port on 127.0.0.1 (free a moment ago).
free_port() {
  "${PY:-/usr/bin/python3}" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_port PORT PID NAME LOGFILE: waits up to 10 s for PORT to accept TCP.
# Fails (showing the log's tail) if process PID exits first or time runs out.
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      tail -n 30 "$4" >&2 || true
      printf '%s exited before listening on %s\n' "$3" "$1" >&2
      return 1
    fi
    sleep 0.1
  done
  tail -n 30 "$4" >&2 || true
  printf '%s not listening on %s after 10 s\n' "$3" "$1" >&2
  return 1
}

# make_test_certs DIR OWNER: a throwaway CA plus "server" and "proxy" leaf
# certificates for CN=localhost (SAN localhost, 127.0.0.1). The database
# server refuses a key it does not own, so server.* goes to OWNER; proxy.key
# and ca.key stay with the invoking user.
make_test_certs() {
  local certs=$1 owner=$2 tmp=$1/.tmp
  mkdir -p "$certs" "$tmp"

  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
    -subj "/CN=switchyard test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null

  cat > "$tmp/leaf.ext" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT

  local name serial=1
  for name in server proxy; do
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$certs/$name.key" -out "$tmp/$name.csr" 2>/dev/null
    openssl x509 -req -in "$tmp/$name.csr" -days 30 -sha256 \
      -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -set_serial "$((serial++))" \
      -extfile "$tmp/leaf.ext" -out "$certs/$name.crt" 2>/dev/null
  done

  rm -rf "$tmp"
  chmod 0755 "$certs"
  chmod 0644 "$certs"/*.crt
  chmod 0600 "$certs"/*.key
  chown "$owner" "$certs/server.key" "$certs/server.crt"
}

# CPU time a process (all its threads) has used so far, in clock ticks
# (utime + stime from /proc/PID/stat; fields counted after the ")" closing comm).
cpu_ticks() {
  local stat
  stat=$(< "/proc/$1/stat") || return 1
  stat=${stat##*) }
  awk '{ print $12 + $13 }' <<< "$stat"
}

# Microseconds of CPU per unit of work (a query, a transaction) from clock
# ticks; n/a without data.
cpu_us_per() { # ticks units
  awk -v t="${1:-}" -v n="${2:-}" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (t == "" || n == "" || n == 0) print "n/a"; else printf "%.1f\n", t / hz / n * 1e6 }'
}

# The table both bench scripts end with: per row (a mode or a test), the
# other proxy's and switchyard's CPU per unit of work, and their ratio.
# ticks_array and units_array are names of associative arrays keyed "row.target".
proxy_cpu_table() { # row-heading other-proxy unit ticks_array units_array rows...
  local heading=$1 other=$2 unit=$3 row o s
  local -n ticks_of=$4 units_of=$5
  shift 5
  printf '| %s | %s µs/%s | switchyard µs/%s | switchyard/%s |\n|---|---:|---:|---:|\n' \
    "$heading" "$other" "$unit" "$unit" "$other"
  for row in "$@"; do
    o=$(cpu_us_per "${ticks_of[$row.$other]:-}" "${units_of[$row.$other]:-}")
    s=$(cpu_us_per "${ticks_of[$row.switchyard]:-}" "${units_of[$row.switchyard]:-}")
    printf '| %s | %s | %s | %s |\n' "$row" "$o" "$s" "$(ratio_of "$s" "$o")"
  done
}

# a/b to three decimals; n/a when either is missing.
ratio_of() { # a b
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.3f\n", a / b }'
}

# --- what the bench scripts do around their measurements ----------------------
# A scratch directory $tmp with the database server in it, and a teardown on
# exit that kills what the script started, stops the server and keeps $tmp
# (logs, configs) only when the run failed.

test_env_tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_scratch NAME: creates $tmp and sets the traps; NAME (the script's)
# prefixes the teardown's message.
bench_scratch() {
  bench_name=$1 bench_kill_vars=() bench_servers=()
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-$1.XXXXXX")
  chmod 0755 "$tmp" # the database server runs as its own user inside it
  trap bench_teardown EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_kill_on_exit VAR...: on exit, kill and reap the process whose pid each
# variable holds by then (empty: skipped), in the order given. Names, not
# pids, because the processes start later and may come and go.
bench_kill_on_exit() { bench_kill_vars+=("$@"); }

# bench_start_pg: a PostgreSQL (tests/pg_server.sh) in $tmp/pg, stopped on
# exit; its env (PGPORT, ...) is sourced and PGSSLMODE=disable, as every path
# a bench compares is plaintext.
bench_start_pg() {
  bench_servers+=("pg_server.sh $tmp/pg")
  bash "$test_env_tests_dir/pg_server.sh" start "$tmp/pg"
  # shellcheck disable=SC1091
  source "$tmp/pg/env"
  export PGSSLMODE=disable
}

# bench_start_mariadb: a MariaDB (tests/mariadb_server.sh) in $tmp/my, stopped
# on exit; its env (MYPORT, ...) is sourced.
bench_start_mariadb() {
  bench_servers+=("mariadb_server.sh $tmp/my")
  bash "$test_env_tests_dir/mariadb_server.sh" start "$tmp/my"
  # shellcheck disable=SC1091
  source "$tmp/my/env"
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
bench_teardown() {
  local rc=$? var server
  set +e
  for var in "${bench_kill_vars[@]}"; do
    [[ -n ${!var:-} ]] && kill "${!var}" 2>/dev/null && wait "${!var}" 2>/dev/null
  done
  for server in "${bench_servers[@]}"; do
    bash "$test_env_tests_dir/${server%% *}" stop "${server#* }"
  done
  if ((rc != 0)); then
    printf '%s: failed (exit %s); logs kept in %s\n' "$bench_name" "$rc" "$tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
