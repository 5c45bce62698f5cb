#!/usr/bin/env bash
# switchyard in one command: a throwaway database loaded with the orders/PR
# schema of the dual-write integration plan (or, with --mysql, the
# consignments transfers on MariaDB), switchyard in front of it, and a short
# scripted workload that walks the tenant through observe, a 50 % canary of
# dual_write, and dual_write, then backfills and verifies, printing what
# changed at each step.
#
#   deploy/quickstart.sh            # PostgreSQL 15
#   deploy/quickstart.sh --mysql    # MariaDB 10.11
#
# Installs what is missing, builds, and cleans everything up on exit
# (Ctrl-C included). SY_SKIP_DEPS=1 / SY_SKIP_BUILD=1 skip those steps.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
dialect=postgres
for arg in "$@"; do
  case $arg in
    --mysql) dialect=mysql ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [[ ${SY_SKIP_DEPS:-0} != 1 ]]; then
  say "installing what is missing"
  bash deploy/install-deps.sh
fi
if [[ ${SY_SKIP_BUILD:-0} != 1 ]]; then
  say "building"
  [[ -f build/CMakeCache.txt ]] || cmake -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build --target switchyard
fi
bin=${SY_BIN:-$repo/build/switchyard}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-quickstart.XXXXXX")
chmod 0755 "$tmp"
sy_pid=''
cleanup() {
  local rc=$?
  set +e
  [[ -n $sy_pid ]] && kill "$sy_pid" 2>/dev/null && wait "$sy_pid" 2>/dev/null
  if [[ $dialect == mysql ]]; then
    bash tests/mariadb_server.sh stop "$tmp/db" >/dev/null 2>&1
  else
    bash tests/pg_server.sh stop "$tmp/db" >/dev/null 2>&1
  fi
  ((rc != 0)) && [[ -f $tmp/switchyard.log ]] && tail -n 20 "$tmp/switchyard.log" >&2
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=tests/lib/test_env.sh
source tests/lib/test_env.sh

say "starting a throwaway $dialect server"
if [[ $dialect == mysql ]]; then
  bash tests/mariadb_server.sh start "$tmp/db" >/dev/null
  # shellcheck disable=SC1091
  source "$tmp/db/env"
  db_port=$MYPORT example=config/examples/consignments-mysql.yaml
else
  bash tests/pg_server.sh start "$tmp/db" >/dev/null
  # shellcheck disable=SC1091
  source "$tmp/db/env"
  db_port=$PGPORT example=config/examples/orders.yaml
fi

proxy_port=$(free_port)
admin_port=$(free_port)
export SY_ADMIN_TOKEN=quickstart-$RANDOM$RANDOM
# `verify` and `backfill` log in to the database themselves, as the target's user.
export SY_QUICKSTART_DB_PW=apppass
# The example file, pointed at this run's ports and given those credentials.
sed -e "s/listen: 127.0.0.1:6432/listen: 127.0.0.1:$proxy_port/" \
    -e "s/listen: 127.0.0.1:3307/listen: 127.0.0.1:$proxy_port/" \
    -e "s/listen: 127.0.0.1:918[78]/listen: 127.0.0.1:$admin_port/" \
    -e "s/address: 127.0.0.1:5432/address: 127.0.0.1:$db_port, user: postgres, database: app/" \
    -e "s/address: 127.0.0.1:3306/address: 127.0.0.1:$db_port, user: app, password_env: SY_QUICKSTART_DB_PW, database: app/" \
    "$example" > "$tmp/switchyard.yaml"
printf 'runtime: { log_level: debug }\n' >> "$tmp/switchyard.yaml"
"$bin" check-config -c "$tmp/switchyard.yaml" >/dev/null

say "starting switchyard ($example)"
"$bin" run -c "$tmp/switchyard.yaml" > "$tmp/switchyard.log" 2>&1 &
sy_pid=$!
wait_port "$proxy_port" "$sy_pid" switchyard "$tmp/switchyard.log"

/usr/bin/python3 deploy/quickstart_workload.py --dialect "$dialect" --db-port "$db_port" --proxy-port "$proxy_port" \
  --admin-port "$admin_port" --config "$tmp/switchyard.yaml" --log "$tmp/switchyard.log" --bin "$bin"

# In a terminal, leave everything running so the status page can be looked
# at; in CI (no terminal), clean up at once.
if [[ -t 0 && -z ${CI:-} ]]; then
  say "switchyard keeps running: press Ctrl-C to stop and clean up"
  wait "$sy_pid"
fi
