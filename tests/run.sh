#!/usr/bin/env bash
# The one test command: dependencies, build, a throwaway PostgreSQL and MariaDB, ctest.
#
#   tests/run.sh                  everything
#   tests/run.sh -R pg_session    extra arguments go to ctest
#
# Environment:
#   SY_SKIP_DEPS=1        skip deploy/install-deps.sh (fast local iteration)
#   SY_BUILD_DIR=build    build directory
#   SY_TEST_TIMEOUT=300   default per-test timeout in seconds (a test's own TIMEOUT wins)
#   SY_FUZZ=auto          the libFuzzer regression runs (tests/fuzz, a clang build in
#                         build-fuzz/): auto = when no ctest arguments are given; 1; 0
#   SY_SANITIZE=          address,undefined: build everything with ASan+UBSan in build-asan/
#                         and run every test but the soak (label soak), the unit tests in one
#                         process (unit_tests.whole, not label unit); thread: build with
#                         TSan in build-tsan/ and run the tests labelled tsan (the unit tests,
#                         reloads and PATCHes under traffic). Extra arguments still go to
#                         ctest. Each report lands in a file; any report fails the run.
#   CTEST_PARALLEL_LEVEL  honoured by ctest as usual
#
# Tests see the variables from tests/pg_server.sh's env file (PGHOST PGPORT PGUSER
# PGDATABASE SY_PG_DIR SY_PG_CA SY_PROXY_CERT SY_PROXY_KEY), from
# tests/mariadb_server.sh's (MYHOST MYPORT MYUSER MYPASSWORD MYDATABASE SY_MY_DIR
# SY_MY_CA SY_MY_PROXY_CERT SY_MY_PROXY_KEY) plus SY_BIN (the proxy binary) and
# SY_REPO (the repository root).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
sanitize=${SY_SANITIZE:-}
case $sanitize in
  '') build_dir=${SY_BUILD_DIR:-build} ;;
  address,undefined) build_dir=${SY_BUILD_DIR:-build-asan} ;;
  thread) build_dir=${SY_BUILD_DIR:-build-tsan} ;;
  *) echo "SY_SANITIZE: expected address,undefined or thread, got '$sanitize'" >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*" >&2; }

if [[ ${SY_SKIP_DEPS:-0} != 1 ]]; then
  step "dependencies"
  bash deploy/install-deps.sh
fi

step "configure"
if [[ -z $sanitize ]]; then
  configure=(cmake -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHYARD_WERROR=ON)
else
  # -O1 and line tables only: the reports keep file:line, and the build is
  # half as long on two cores. No -Werror: GCC's sanitizer instrumentation
  # raises flow warnings (-Wmaybe-uninitialized and kin) the plain build does not.
  configure=(cmake -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHYARD_SANITIZE="$sanitize"
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
fi
# An existing build directory keeps the generator it was made with.
[[ -f $build_dir/CMakeCache.txt ]] || configure+=(-G Ninja)
command -v ccache >/dev/null 2>&1 && configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
"${configure[@]}"

step "build"
cmake --build "$build_dir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-test.XXXXXX")
chmod 0755 "$tmp" # the servers run as users postgres and mysql and live in $tmp/pg, $tmp/my
# unittest's FAIL/ERROR blocks, GoogleTest's failure lines and the sanitizers'
# summaries, each block cut to its last lines: the assertion and its message
# come at the end.
# shellcheck disable=SC2317  # invoked by the EXIT trap
failure_summary() {
  awk '
    /^(FAIL|ERROR): / { inblock = 1; n = 0 }
    inblock && /^(-{70}|={70})$/ && n > 2 { flush(); inblock = 0 }
    inblock { lines[n++] = $0 }
    /: Failure$|\[  FAILED  \]|^SUMMARY: |^==[0-9]+==ERROR|runtime error: / { print }
    function flush(  i, from) {
      print lines[0]
      from = n > 25 ? n - 25 : 1
      if (from > 1) print "  ..."
      for (i = from; i < n; i++) print lines[i]
      n = 0
    }
    END { if (inblock) flush() }
  ' "$1" | head -n 300
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)) && [[ -f $tmp/pg/postgres.log ]]; then
    printf '\n==> failed (exit %d); last lines of postgres.log:\n' "$rc" >&2
    tail -n 40 "$tmp/pg/postgres.log" >&2
  fi
  if ((rc != 0)) && [[ -f $tmp/my/mariadb.log ]]; then
    printf '\n==> failed (exit %d); last lines of mariadb.log:\n' "$rc" >&2
    tail -n 40 "$tmp/my/mariadb.log" >&2
  fi
  # Last, so that a CI page showing only the tail still names the assertion.
  if ((rc != 0)) && [[ -f $build_dir/Testing/Temporary/LastTest.log ]]; then
    printf '\n==> failed (exit %d); the failures ctest recorded:\n' "$rc" >&2
    failure_summary "$build_dir/Testing/Temporary/LastTest.log" >&2
    [[ -f build-fuzz/Testing/Temporary/LastTest.log ]] && failure_summary build-fuzz/Testing/Temporary/LastTest.log >&2
  fi
  bash "$repo/tests/pg_server.sh" stop "$tmp/pg"
  bash "$repo/tests/mariadb_server.sh" stop "$tmp/my"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "postgresql"
bash tests/pg_server.sh start "$tmp/pg"
# shellcheck disable=SC1091
source "$tmp/pg/env"

step "mariadb"
bash tests/mariadb_server.sh start "$tmp/my"
# shellcheck disable=SC1091
source "$tmp/my/env"

export SY_REPO=$repo
export SY_BIN=${SY_BIN:-$repo/$build_dir/switchyard}
export PATH=/usr/lib/postgresql/15/bin:$PATH

selection=("$@")
if [[ -n $sanitize ]]; then
  # Reports go to files, not stderr: several tests read the proxy's stderr,
  # and a report in a child the test kills would otherwise be lost.
  reports=$tmp/sanitizer-reports
  mkdir -p "$reports"
  export SY_SANITIZE=$sanitize
  # verify_asan_link_order=0: test_target_timeouts LD_PRELOADs a resolver shim.
  export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:verify_asan_link_order=0"
  export LSAN_OPTIONS="suppressions=$repo/tests/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1"
  export TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1:suppressions=$repo/tests/sanitizers/tsan.supp"
  if ((${#selection[@]} == 0)); then
    # The unit tests run as one process (unit_tests.whole), not one
    # instrumented process per test.
    [[ $sanitize == thread ]] && selection=(-L tsan) || selection=(-LE '^(soak|unit)$')
  fi
fi

step "ctest${sanitize:+ ($sanitize)}"
status=0
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error \
  --timeout "${SY_TEST_TIMEOUT:-300}" "${selection[@]}" || status=$?

if [[ -n $sanitize ]]; then
  step "sanitizer reports"
  shopt -s nullglob
  found=("$reports"/*)
  shopt -u nullglob
  if ((${#found[@]})); then
    for f in "${found[@]}"; do
      printf '\n--- %s\n' "$(basename "$f")" >&2
      head -n 60 "$f" >&2
    done
    printf '\n==> %d sanitizer report(s): failing the run\n' "${#found[@]}" >&2
    status=1
  else
    printf 'no sanitizer reports\n' >&2
  fi
fi

fuzz=${SY_FUZZ:-auto}
[[ $fuzz == auto ]] && { (($# == 0)) && [[ -z $sanitize ]] && fuzz=1 || fuzz=0; }
if [[ $fuzz == 1 ]]; then
  # The decoders and rewriters under ASan/UBSan with libFuzzer: a fixed number
  # of inputs from tests/fuzz/seeds, so a crash found once stays found.
  step "fuzz"
  fuzz_dir=build-fuzz
  fuzz_configure=(cmake -B "$fuzz_dir" -DSWITCHYARD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [[ -f $fuzz_dir/CMakeCache.txt ]] || fuzz_configure+=(-G Ninja)
  command -v ccache >/dev/null 2>&1 && fuzz_configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  if "${fuzz_configure[@]}" >/dev/null && cmake --build "$fuzz_dir"; then
    ctest --test-dir "$fuzz_dir" --output-on-failure --no-tests=error || status=$?
  else
    status=1
  fi
fi
exit "$status"
