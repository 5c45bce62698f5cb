#!/usr/bin/env bash
# Remakes the recordings beside this script against a throwaway PostgreSQL 15:
#   bash tests/unit/protocol/pg/recordings/make_recordings.sh
# Needs psql, pgbench, python3-psycopg (Debian's, for /usr/bin/python3) and
# node with tests/integration/node/node_modules (npm ci there).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../../.." && pwd)
dir=$(mktemp -d /tmp/sy-recordings.XXXXXX)
chmod 0755 "$dir"  # the server runs as postgres when this runs as root
trap 'bash "$root/tests/pg_server.sh" stop "$dir/pg"; rm -rf "$dir"' EXIT
bash "$root/tests/pg_server.sh" start "$dir/pg"
# shellcheck disable=SC1091
source "$dir/pg/env"
rec() { /usr/bin/python3 "$here/record.py" "$here/$1" -- "${@:2}"; }

rec psql_session.rec psql -X -q -f "$here/psql_session.sql"
pgbench -q -i -s 1 >/dev/null 2>&1
rec pgbench_extended.rec pgbench -n -M extended -c 1 -t 2
rec pgbench_prepared.rec pgbench -n -M prepared -c 1 -t 2
rec psycopg_pipeline.rec /usr/bin/python3 "$here/psycopg_pipeline.py"
NODE_PATH=$root/tests/integration/node/node_modules rec node_prepared.rec node "$here/node_prepared.js"
rec copy_pipeline.rec /usr/bin/python3 "$here/copy_pipeline_client.py"
rec copy_abort.rec /usr/bin/python3 "$here/copy_pipeline_client.py" abort
ls -l "$here"/*.rec
