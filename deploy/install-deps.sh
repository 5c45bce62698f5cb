#!/usr/bin/env bash
# Install everything switchyard needs to build, test and benchmark on Debian 12.
#
# Idempotent: only packages that are missing are installed, `apt-get update` runs
# only when something is missing, and the Node.js clients used by the integration
# tests (node-postgres and mysql2) are installed only when
# tests/integration/node/node_modules/pg or .../mysql2 is absent. A second run
# does nothing and takes well under a second.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-system-dev libssl-dev libpg-query-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libpq-dev libmariadb-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  postgresql-15 postgresql-client-15 pgbouncer
  mariadb-server mariadb-client sysbench haproxy python3-pymysql python3-cryptography
  python3 python3-psycopg python3-psycopg2 python3-yaml python3-sqlalchemy rapidjson-dev openssl
  nodejs npm
  procps iproute2
  prometheus chromium
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root (or sudo) to run: $*"
    exit 1
  fi
}

# Names that installed packages provide. NodeSource's nodejs, for example,
# "Provides: npm" and conflicts with Debian's npm package, so npm must count as
# present when such a nodejs is installed; asking apt for it would fail.
provided=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
  awk '$1 == "ii" { $1 = ""; gsub(/\([^)]*\)/, ""); gsub(/,/, " "); print }' |
  tr -s ' \n' '  ') "

is_installed() {
  local status
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)
  [[ $status == ii* ]] && return 0
  [[ $provided == *" $1 "* ]]
}

missing=()
for pkg in "${packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all ${#packages[@]} Debian packages present"
fi

# node-postgres and mysql2 for the Node.js integration tests.
node_dir="$repo_root/tests/integration/node"
if [[ ! -d $node_dir/node_modules/pg || ! -d $node_dir/node_modules/mysql2 ]]; then
  log "installing node-postgres and mysql2 into ${node_dir#"$repo_root"/}"
  if [[ -f $node_dir/package-lock.json ]]; then
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
else
  log "node-postgres and mysql2 present"
fi
