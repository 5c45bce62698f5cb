#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests and benchmarks.
#
#   tests/pg_server.sh start DIR    create DIR, initdb, TLS certs, start, create roles/db
#   tests/pg_server.sh stop DIR     fast shutdown (fine if it is not running)
#   tests/pg_server.sh status DIR   exit 0 if running
#   tests/pg_server.sh kill DIR     SIGKILL the postmaster and every server process (a crash)
#   tests/pg_server.sh restart DIR  start DIR's server again (after stop or kill), same port
#
# After `start`, `source DIR/env` exports:
#   PGHOST PGPORT PGUSER PGDATABASE   libpq defaults: 127.0.0.1, the port, postgres, app
#   SY_PG_DIR                         DIR (also the unix socket directory)
#   SY_PG_CA                          CA that signed every cert below
#   SY_PROXY_CERT SY_PROXY_KEY        a CN=localhost cert/key for switchyard's client side
#
# Layout of DIR: data/ (PGDATA), certs/, postgres.log, env, .s.PGSQL.<port>.
#
# Roles (all LOGIN) and how pg_hba.conf treats them over TCP on 127.0.0.1:
#   postgres   trust (superuser; initdb password "postgres")
#   md5user    md5, password md5pass (stored as an md5 hash)
#   scramuser  scram-sha-256, password scrampass
#   tlsonly    scram-sha-256 over TLS only, password tlspass; rejected without TLS
#   anyone     scram-sha-256
# Over the unix socket everyone is trusted. Database `app` is owned by postgres;
# the three test roles may connect and create objects in its public schema.
set -euo pipefail
# shellcheck source=tests/lib/test_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/test_env.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PY=/usr/bin/python3

die() { printf 'pg_server.sh: %s\n' "$*" >&2; exit 1; }
log() { printf 'pg_server.sh: %s\n' "$*" >&2; }

if [[ $EUID -eq 0 ]]; then
  PG_OS_USER=postgres
  id "$PG_OS_USER" >/dev/null 2>&1 || die "user postgres missing; run deploy/install-deps.sh"
  # Run from / so the postgres user never trips over an unreadable cwd.
  as_pg() { (cd / && runuser -u "$PG_OS_USER" -- "$@"); }
else
  PG_OS_USER=$(id -un)
  as_pg() { (cd / && "$@"); }
fi

write_conf() {
  local dir=$1 port=$2 data=$1/data
  cat >> "$data/postgresql.conf" <<CONF

# ---- tests/pg_server.sh ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 700
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$dir/certs/server.crt'
ssl_key_file = '$dir/certs/server.key'
# A test may publish tables to a second server (test_shadow_pg (g): a shadow
# target kept by logical replication).
wal_level = logical
CONF

  cat > "$data/pg_hba.conf" <<'HBA'
# TYPE     DATABASE USER       ADDRESS        METHOD
local      all      all                       trust
host       all      postgres   127.0.0.1/32   trust
host       all      md5user    127.0.0.1/32   md5
host       all      scramuser  127.0.0.1/32   scram-sha-256
hostssl    all      tlsonly    127.0.0.1/32   scram-sha-256
hostnossl  all      tlsonly    127.0.0.1/32   reject
host       all      all        127.0.0.1/32   scram-sha-256
HBA
}

cmd_start() {
  local dir=$1 data port attempt
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  [[ -e $data ]] && die "$data already exists; use a fresh directory"

  chmod 0755 "$dir"
  [[ $EUID -eq 0 ]] && chown "$PG_OS_USER" "$dir"
  as_pg test -w "$dir" ||
    die "$PG_OS_USER cannot write $dir (is a parent directory private?)"

  make_test_certs "$dir/certs" "$PG_OS_USER"

  local pwfile=$dir/.pwfile
  printf 'postgres\n' > "$pwfile"
  [[ $EUID -eq 0 ]] && chown "$PG_OS_USER" "$pwfile"
  as_pg "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
    -A trust --auth-host=scram-sha-256 --pwfile="$pwfile" --no-sync \
    > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"

  # The port is free when we look, but another process may take it before the
  # server binds; pick again in that case.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    write_conf "$dir" "$port"
    if as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
      break
    fi
    if ((attempt < 5)) && grep -q 'could not bind\|Address already in use' "$dir/postgres.log" 2>/dev/null; then
      log "port $port was taken, retrying"
      continue
    fi
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "PostgreSQL failed to start"
  done

  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres <<'SQL'
SET password_encryption = 'md5';
CREATE ROLE md5user LOGIN PASSWORD 'md5pass';
RESET password_encryption;
CREATE ROLE scramuser LOGIN PASSWORD 'scrampass';
CREATE ROLE tlsonly LOGIN PASSWORD 'tlspass';
CREATE DATABASE app OWNER postgres;
\connect app
GRANT ALL ON DATABASE app TO md5user, scramuser, tlsonly;
GRANT ALL ON SCHEMA public TO md5user, scramuser, tlsonly;
SQL

  {
    printf 'export PGHOST=127.0.0.1 PGPORT=%s PGUSER=postgres PGDATABASE=app' "$port"
    printf ' SY_PG_DIR=%q SY_PG_CA=%q' "$dir" "$dir/certs/ca.crt"
    printf ' SY_PROXY_CERT=%q SY_PROXY_KEY=%q\n' "$dir/certs/proxy.crt" "$dir/certs/proxy.key"
  } > "$dir/env"
  chmod 0644 "$dir/env"
  log "PostgreSQL running on 127.0.0.1:$port (source $dir/env)"
}

cmd_stop() {
  local dir=$1
  [[ -f $dir/data/postmaster.pid ]] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || {
    # "Not running" (stale pid file) is fine; anything else is worth a word.
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      die "could not stop the server in $dir"
    fi
  }
}

cmd_status() {
  [[ -d $1/data ]] && as_pg "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# The fault-injection tests' crash: the postmaster and its children die at
# once, without a shutdown; the next start runs crash recovery.
cmd_kill() {
  local dir=$1 pid pids i
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  # shellcheck disable=SC2207  # one pid per word
  pids=("$pid" $(ps -o pid= --ppid "$pid" || true))
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    # Zombies (dead, not yet reaped) count as gone. The lock files still name
    # the postmaster, and a zombie passes for alive to pg_ctl and to the next
    # postmaster: they go too.
    if ! ps -o stat= -p "$(IFS=,; echo "${pids[*]}")" | grep -qv '^Z'; then
      rm -f "$dir/data/postmaster.pid" "$dir"/.s.PGSQL.*.lock
      return 0
    fi
    sleep 0.1
  done
  die "server processes ${pids[*]} still alive after SIGKILL"
}

cmd_restart() {
  local dir=$1
  [[ -d $dir/data ]] || die "$dir has no data directory; use start"
  cmd_status "$dir" && return 0
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$dir/postgres.log" >&2; die "PostgreSQL failed to restart"; }
}

usage() { die "usage: $0 start|stop|status|kill|restart DIR"; }

[[ $# -eq 2 ]] || usage
case $1 in
  start) cmd_start "$2" ;;
  stop) cmd_stop "$2" ;;
  status) cmd_status "$2" ;;
  kill) cmd_kill "$2" ;;
  restart) cmd_restart "$2" ;;
  *) usage ;;
esac
