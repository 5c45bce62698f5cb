# Shared by the shadow benchmarks (shadow-bench.sh, shadow-slow-target.sh):
# the migrated table they read, its migration, and starting one proxy.
# Sourced after tests/lib/test_env.sh; PG_BIN and SY_BIN set by the caller.

# shadow_bench_load_table PORT: bench_orders (100 000 rows, legacy status
# '1'..'7' and its unified value) on the server at PORT, fresh.
shadow_bench_load_table() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres app \
    -c "DROP VIEW IF EXISTS bench_orders" -c "DROP TABLE IF EXISTS bench_orders_t" \
    -c "DROP TABLE IF EXISTS bench_orders" \
    -c "CREATE TABLE bench_orders (id int PRIMARY KEY, status text, unified_status text)" \
    -c "INSERT INTO bench_orders SELECT i, (1 + i % 7)::text, (ARRAY['CREATED','PENDING_APPROVAL','APPROVED','IN_FULFILMENT','DISPATCHED','DELIVERED','CANCELLED'])[1 + i % 7] FROM generate_series(1, 100000) i" \
    -c "VACUUM ANALYZE bench_orders" >/dev/null
}

# shadow_bench_migrations: the config's `migrations:` section for bench_orders.
shadow_bench_migrations() {
  cat <<'YAML'
migrations:
  bench_orders:
    table: bench_orders
    legacy_column: status
    unified_column: unified_status
    map: { "1": CREATED, "2": PENDING_APPROVAL, "3": APPROVED, "4": IN_FULFILMENT, "5": DISPATCHED,
           "6": DELIVERED, "7": CANCELLED }
YAML
}

# shadow_bench_start KEY: runs switchyard with $tmp/sy-KEY.yaml, its pid in
# pid[KEY] (and killed on exit), and waits for port[KEY].
shadow_bench_start() {
  "$SY_BIN" run -c "$tmp/sy-$1.yaml" > "$tmp/sy-$1.log" 2>&1 &
  pid[$1]=$!
  declare -g "sy_pid_$1=${pid[$1]}"
  bench_kill_on_exit "sy_pid_$1"
  wait_port "${port[$1]}" "${pid[$1]}" switchyard "$tmp/sy-$1.log" || die "could not start it"
}
