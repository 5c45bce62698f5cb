"""psycopg 3 in pipeline mode, with a statement that fails mid-pipeline: the
server skips the rest up to the pipeline's Sync and answers the next one."""
import psycopg

with psycopg.connect(autocommit=True) as conn:
    conn.execute("CREATE TEMP TABLE kv (k int PRIMARY KEY, v text)")
    try:
        with conn.pipeline() as p:
            cur = conn.cursor()
            cur.execute("INSERT INTO kv VALUES (%s, %s)", (1, "one"))
            cur.execute("INSERT INTO kv VALUES (%s, %s)", (2, "two"))
            cur.execute("SELECT 1 / %s", (0,))          # fails: division by zero
            cur.execute("INSERT INTO kv VALUES (%s, %s)", (3, "three"))  # skipped
            cur.execute("SELECT k FROM kv")             # skipped
    except psycopg.errors.DivisionByZero:
        pass
    with conn.pipeline() as p:
        cur = conn.cursor()
        for k in range(10, 16):  # past prepare_threshold: psycopg names the statement
            cur.execute("INSERT INTO kv VALUES (%s, %s)", (k, str(k)))
        p.sync()
        cur.execute("SELECT count(*) FROM kv")
        # 6: the failed pipeline ran in one implicit transaction, rolled back whole.
        assert cur.fetchone()[0] == 6, "pipeline results"
