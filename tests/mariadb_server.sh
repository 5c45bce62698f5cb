#!/usr/bin/env bash
# A throwaway MariaDB 10.11 for tests and benchmarks.
#
#   tests/mariadb_server.sh start DIR    create DIR, install the datadir, TLS certs, start, create users/dbs
#   tests/mariadb_server.sh stop DIR     shutdown (fine if it is not running)
#   tests/mariadb_server.sh status DIR   exit 0 if running
#   tests/mariadb_server.sh kill DIR     SIGKILL the server (a crash)
#   tests/mariadb_server.sh restart DIR  start DIR's server again (after stop or kill), same port
#
# After `start`, `source DIR/env` exports:
#   MYHOST MYPORT MYUSER MYPASSWORD MYDATABASE   127.0.0.1, the port, app, apppass, app
#   SY_MY_DIR                                    DIR (the unix socket is DIR/mysqld.sock)
#   SY_MY_CA                                     CA that signed every cert below
#   SY_MY_PROXY_CERT SY_MY_PROXY_KEY             a CN=localhost cert/key for switchyard's client side
#
# Layout of DIR: data/ (datadir), certs/, mariadb.log, mysqld.pid, mysqld.sock, env.
# The server runs with --no-defaults (nothing from /etc/mysql), listens on
# 127.0.0.1 only, --skip-name-resolve, TLS on (certs/server.crt, SAN localhost
# and 127.0.0.1), no binlog, innodb_flush_log_at_trx_commit=0.
#
# Users (all @'%', i.e. any TCP client; passwords as stated):
#   root      no password; over the unix socket and TCP from 127.0.0.1/::1
#             (mariadb-install-db's root@<hostname> and anonymous users are dropped)
#   app       apppass, mysql_native_password; ALL on app.*, PROCESS
#   eduser    edpass, ed25519 (plugin auth_ed25519); ALL on app.*, PROCESS
#   tlsuser   tlspass, mysql_native_password, REQUIRE SSL (rejected without TLS);
#             ALL on app.*, PROCESS
#   sbtest    sbpass, mysql_native_password; ALL on sbtest.* (sysbench)
# PROCESS lets a test user see every thread in SHOW PROCESSLIST; any user may
# KILL [QUERY] its own threads without extra privileges.
set -euo pipefail
# shellcheck source=tests/lib/test_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/test_env.sh"

PY=/usr/bin/python3
MY_SBIN=${MY_SBIN:-/usr/sbin}
START_TIMEOUT=30

die() { printf 'mariadb_server.sh: %s\n' "$*" >&2; exit 1; }
log() { printf 'mariadb_server.sh: %s\n' "$*" >&2; }

if [[ $EUID -eq 0 ]]; then
  MY_OS_USER=mysql
  id "$MY_OS_USER" >/dev/null 2>&1 || die "user mysql missing; run deploy/install-deps.sh"
  user_opt=(--user="$MY_OS_USER")
  # Run from / so the mysql user never trips over an unreadable cwd.
  as_my() { (cd / && runuser -u "$MY_OS_USER" -- "$@"); }
else
  MY_OS_USER=$(id -un)
  user_opt=()
  as_my() { (cd / && "$@"); }
fi

# root over the unix socket; --no-defaults keeps /etc/mysql's client settings out.
admin() { mariadb-admin --no-defaults --socket="$1/mysqld.sock" -uroot --connect-timeout=2 "${@:2}"; }
sql() { mariadb --no-defaults --socket="$1/mysqld.sock" -uroot --batch "${@:2}"; }

alive() { # pid; a zombie (exited, not yet reaped by its parent) counts as gone
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

server_pid() { # DIR -> pid on stdout, if the pid file names a live process
  local pid
  pid=$(cat "$1/mysqld.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && printf '%s\n' "$pid"
}

# launch DIR PORT: runs the server on DIR's datadir and waits until it answers
# ping. Fails if it exits first (e.g. the port was taken).
launch() {
  local dir=$1 port=$2 pid i
  rm -f "$dir/mysqld.pid"
  # setsid: the server must not share the caller's session/terminal signals.
  # Its stdout/stderr go to the log too (--log-error catches almost everything).
  setsid "$MY_SBIN/mariadbd" --no-defaults "${user_opt[@]}" --datadir="$dir/data" \
    --socket="$dir/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
    --skip-name-resolve --pid-file="$dir/mysqld.pid" --log-error="$dir/mariadb.log" \
    --max-connections=600 --innodb-buffer-pool-size=128M --max-allowed-packet=64M \
    --innodb-flush-log-at-trx-commit=0 --skip-log-bin \
    --ssl-ca="$dir/certs/ca.crt" --ssl-cert="$dir/certs/server.crt" \
    --ssl-key="$dir/certs/server.key" \
    < /dev/null >> "$dir/mariadb.log" 2>&1 &
  pid=$!
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    admin "$dir" ping >/dev/null 2>&1 && return 0
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    tail -n 30 "$dir/mariadb.log" >&2 || true
    die "MariaDB did not answer ping within ${START_TIMEOUT}s"
  fi
  wait "$pid" 2>/dev/null || true
  return 1
}

cmd_start() {
  local dir=$1 data port attempt
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  [[ -e $data ]] && die "$data already exists; use a fresh directory"
  # sun_path is 108 bytes.
  ((${#dir} + 12 < 108)) || die "$dir is too long for a unix socket path"

  chmod 0755 "$dir"
  [[ $EUID -eq 0 ]] && chown "$MY_OS_USER" "$dir"
  as_my test -w "$dir" ||
    die "$MY_OS_USER cannot write $dir (is a parent directory private?)"

  make_test_certs "$dir/certs" "$MY_OS_USER"

  # --no-defaults must come first; without it /etc/mysql/my.cnf leaks in.
  mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$data" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    > "$dir/install-db.log" 2>&1 || { cat "$dir/install-db.log" >&2; die "mariadb-install-db failed"; }

  # The port is free when we look, but another process may take it before the
  # server binds; pick again in that case.
  # mariadbd opens the log after dropping to the mysql user.
  : > "$dir/mariadb.log"
  [[ $EUID -eq 0 ]] && chown "$MY_OS_USER" "$dir/mariadb.log"

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    launch "$dir" "$port" && break
    if ((attempt < 5)) && grep -q 'Address already in use\|Bind on TCP/IP port' "$dir/mariadb.log" 2>/dev/null; then
      log "port $port was taken, retrying"
      continue
    fi
    tail -n 30 "$dir/mariadb.log" >&2 || true
    die "MariaDB failed to start"
  done

  # ed25519 is a plugin in MariaDB; INSTALL fails if it is already loaded.
  sql "$dir" -e "INSTALL SONAME 'auth_ed25519'" 2>/dev/null ||
    sql "$dir" -N -e "SELECT 1 FROM information_schema.plugins
                      WHERE plugin_name = 'ed25519' AND plugin_status = 'ACTIVE'" | grep -q 1 ||
    die "could not load the auth_ed25519 plugin"

  # Accounts on the machine's hostname only produce warnings under
  # --skip-name-resolve, and anonymous ones would shadow named users.
  local drops
  drops=$(sql "$dir" -N -e "SELECT CONCAT('DROP USER ', QUOTE(User), '@', QUOTE(Host), ';')
    FROM mysql.user WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1'))")
  [[ -z $drops ]] || sql "$dir" -e "$drops" || die "dropping default accounts failed"

  sql "$dir" <<'SQL' || die "creating users and databases failed"
CREATE DATABASE app;
CREATE DATABASE sbtest;
CREATE USER 'app'@'%' IDENTIFIED BY 'apppass';
CREATE USER 'eduser'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('edpass');
CREATE USER 'tlsuser'@'%' IDENTIFIED BY 'tlspass' REQUIRE SSL;
CREATE USER 'sbtest'@'%' IDENTIFIED BY 'sbpass';
GRANT ALL ON app.* TO 'app'@'%', 'eduser'@'%', 'tlsuser'@'%';
GRANT PROCESS ON *.* TO 'app'@'%', 'eduser'@'%', 'tlsuser'@'%';
GRANT ALL ON sbtest.* TO 'sbtest'@'%';
SQL

  {
    printf 'export MYHOST=127.0.0.1 MYPORT=%s MYUSER=app MYPASSWORD=apppass MYDATABASE=app' "$port"
    printf ' SY_MY_DIR=%q SY_MY_CA=%q' "$dir" "$dir/certs/ca.crt"
    printf ' SY_MY_PROXY_CERT=%q SY_MY_PROXY_KEY=%q\n' "$dir/certs/proxy.crt" "$dir/certs/proxy.key"
  } > "$dir/env"
  chmod 0644 "$dir/env"
  log "MariaDB running on 127.0.0.1:$port (source $dir/env)"
}

cmd_stop() {
  local dir=$1 pid i
  [[ -d $dir ]] || return 0
  pid=$(server_pid "$dir") || pid=''
  # mariadb-admin shutdown waits until the server has removed its pid file.
  if [[ -S $dir/mysqld.sock ]] && admin "$dir" --shutdown-timeout=60 shutdown >/dev/null 2>&1; then
    pid=$(server_pid "$dir") || return 0
  fi
  [[ -n $pid ]] || return 0
  log "shutdown over the socket failed; sending SIGTERM to $pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "MariaDB ($pid) still running after 30 s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_status() {
  server_pid "$1" >/dev/null && admin "$1" ping >/dev/null 2>&1
}

# The fault-injection tests' crash: the server dies without a shutdown; the
# next start runs InnoDB crash recovery.
cmd_kill() {
  local dir=$1 pid i
  pid=$(server_pid "$dir") || return 0
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  die "MariaDB ($pid) still alive after SIGKILL"
}

cmd_restart() { # on the port recorded in DIR/env
  local dir=$1 port
  [[ -d $dir/data ]] || die "$dir has no data directory; use start"
  cmd_status "$dir" && return 0
  port=$(sed -n 's/.*MYPORT=\([0-9]*\).*/\1/p' "$dir/env")
  [[ -n $port ]] || die "no MYPORT in $dir/env"
  launch "$dir" "$port" || { tail -n 30 "$dir/mariadb.log" >&2; die "MariaDB failed to restart"; }
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
