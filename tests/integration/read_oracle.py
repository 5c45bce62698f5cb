"""The oracle of the column-level read switch (issue 12), shared by the
test_read_switch_pg*.py tests.

Two databases on the test server:
  sy_reads          read_schema.sql as loaded: legacy and unified disagree.
                    The proxy's tenant (read_corpus.yaml) serves this one.
  sy_reads_oracle   a copy (CREATE DATABASE ... TEMPLATE sy_reads, so every
                    type OID, enums included, is the same) where each migrated
                    legacy column := reverse(unified) under the migration's
                    `unreversible` policy. The ORIGINAL query run here is what a
                    switched read must answer.

A query runs in one of these modes (see tests/corpus/generate_pg_reads.py):
simple, extended, prepared, exec_params, copy. run() gives a Result (column
names, type OIDs, rows) or an Error (SQLSTATE), and same_result() compares two.
"""
import collections
import decimal
import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import psycopg
import yaml

from harness import PGPORT, connect, dsn

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DB = "sy_reads"
ORACLE_DB = "sy_reads_oracle"
TENANT = "reads"


# --- config ----------------------------------------------------------------------

def read_config(port, admin_port=None, phase="read_switch", unreversible=None, canary=None):
    """read_corpus.yaml for a proxy on `port` in front of the test server, as text.

    unreversible: {migration: "null" | "legacy"} overrides; canary: a dict for
    the tenant's canary key."""
    cfg = yaml.safe_load((CORPUS / "read_corpus.yaml").read_text())
    listener = cfg["listeners"][0]
    listener["listen"] = f"127.0.0.1:{port}"
    listener["targets"]["legacy"]["address"] = f"127.0.0.1:{PGPORT}"
    tenant = cfg["tenants"][0]
    tenant["phase"] = phase
    if canary:
        tenant["canary"] = canary
    for name, policy in (unreversible or {}).items():
        cfg["migrations"][name]["unreversible"] = None if policy == "null" else policy
    if admin_port:
        cfg["admin"] = {"listen": f"127.0.0.1:{admin_port}"}
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)


def migrations(config_text=None):
    """The migrations of the config as dicts: table (SQL reference), legacy,
    unified (quoted), reverse {unified: legacy} and unreversible."""
    cfg = yaml.safe_load(config_text or (CORPUS / "read_corpus.yaml").read_text())
    out = []
    for name, m in cfg["migrations"].items():
        schema, _, table = m["table"].rpartition(".")
        reverse = {}
        for legacy, unified in m["map"].items():  # the inverse of map; first legacy value wins ...
            reverse.setdefault(str(unified), str(legacy))
        reverse.update({str(k): str(v) for k, v in (m.get("reverse") or {}).items()})  # ... unless reverse says
        out.append({"name": name, "schema": schema or "public", "relname": table,
                    "table": (f'"{schema}".' if schema else "") + f'"{table}"',
                    "legacy": m["legacy_column"], "unified": m["unified_column"], "reverse": reverse,
                    "unreversible": "null" if m.get("unreversible", "legacy") is None else
                    str(m.get("unreversible", "legacy"))})
    return out


def lit(v):
    return "'" + v.replace("'", "''") + "'"


# --- databases -----------------------------------------------------------------

def admin_conn():
    return connect(PGPORT, dbname="app")


def wait_idle(db, timeout=10.0):
    """Waits until no session is connected to `db` (the proxy's backends close
    a moment after their clients)."""
    deadline = time.monotonic() + timeout
    with admin_conn() as conn:
        while True:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (db,)).fetchone()[0]
            if n == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{n} sessions still connected to {db}")
            time.sleep(0.05)


def load_databases(extra_sql=""):
    """(Re)creates sy_reads from read_schema.sql (+ extra_sql) and its oracle copy."""
    with admin_conn() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {ORACLE_DB} WITH (FORCE)")
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn(PGPORT, dbname=DB),
                        "-f", str(CORPUS / "read_schema.sql")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    if extra_sql:
        with connect(PGPORT, dbname=DB) as conn:
            conn.execute(extra_sql)
    rebuild_oracle()


def rebuild_oracle(config_text=None):
    """sy_reads_oracle := a copy of sy_reads with legacy := reverse(unified).

    Recreated from the template each time (rather than re-derived in place),
    because under `unreversible: legacy` the answer needs the STORED legacy
    value of sy_reads."""
    wait_idle(DB)
    with admin_conn() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {ORACLE_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {ORACLE_DB} TEMPLATE {DB}")
    with connect(PGPORT, dbname=ORACLE_DB) as conn:
        for m in migrations(config_text):
            legacy_type = conn.execute(
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s",
                (m["schema"], m["relname"], m["legacy"])).fetchone()[0]
            whens = " ".join(f"WHEN {lit(u)} THEN {lit(l)}" for u, l in m["reverse"].items())
            fallback = f'"{m["legacy"]}"' if m["unreversible"] == "legacy" else "NULL"
            conn.execute(f'UPDATE {m["table"]} SET "{m["legacy"]}" = (CASE "{m["unified"]}"::text {whens} '
                         f"ELSE {fallback}::text END)::{legacy_type}")
        conn.execute("ANALYZE")


# --- running a query -------------------------------------------------------------

Result = collections.namedtuple("Result", "names oids rows")
Error = collections.namedtuple("Error", "sqlstate message")


def _pct_sql(sql):
    """$n -> %(pn)s for psycopg's own placeholders (a literal % doubled)."""
    return re.sub(r"\$(\d+)", r"%(p\1)s", sql.replace("%", "%%"))


def _params(entry):
    return {f"p{i + 1}": v for i, v in enumerate(entry.get("params", []))}


def _norm(v):
    if isinstance(v, list):
        return tuple(_norm(x) for x in v)
    if isinstance(v, decimal.Decimal):
        return v.normalize() if v == v else v  # 1.50 and 1.5 are the same value (NaN stays)
    return v


def run(conn, entry, mode):
    """Runs entry (a corpus dict, or {"sql":..., "params":...}) on conn in `mode`."""
    sql = entry["sql"]
    has_params = "params" in entry
    try:
        if mode == "exec_params":
            params = [None if p is None else str(p).encode() for p in entry.get("params", [])]
            res = conn.pgconn.exec_params(sql.encode(), params)
            if res.status == psycopg.pq.ExecStatus.FATAL_ERROR:
                return Error(res.error_field(psycopg.pq.DiagnosticField.SQLSTATE).decode(),
                             res.error_message.decode(errors="replace"))
            names = [res.fname(i).decode() for i in range(res.nfields)]
            oids = [res.ftype(i) for i in range(res.nfields)]
            rows = [tuple(None if res.get_value(r, c) is None else res.get_value(r, c).decode()
                          for c in range(res.nfields)) for r in range(res.ntuples)]
            return Result(names, oids, rows)
        if mode == "copy":
            with conn.cursor() as cur:
                with cur.copy(sql) as copy:
                    data = b"".join(bytes(b) for b in copy)
            return Result([], [], data.decode().splitlines())
        if mode == "simple":
            cur = psycopg.ClientCursor(conn)
            if has_params:
                cur.execute(_pct_sql(sql), _params(entry))
            else:
                cur.execute(sql)
        elif mode in ("extended", "prepared"):
            # Without parameters psycopg uses the simple protocol unless the
            # statement is prepared: exec_params is the extended one there.
            if mode == "extended" and not has_params:
                raise ValueError("extended needs parameters; use exec_params")
            cur = conn.cursor()
            cur.execute(_pct_sql(sql) if has_params else sql, _params(entry) if has_params else None,
                        prepare=(mode == "prepared"))
        else:
            raise ValueError(mode)
        desc = cur.description or []
        rows = [tuple(_norm(v) for v in row) for row in cur.fetchall()] if desc else []
        cur.close()
        return Result([d.name for d in desc], [d.type_code for d in desc], rows)
    except psycopg.Error as err:
        if not conn.autocommit:
            conn.rollback()
        return Error(err.sqlstate, str(err).strip())


def _sort_key(row):
    return tuple((v is None, type(v).__name__, repr(v)) for v in row)


def same_result(a, b, ordered):
    """None when a and b agree (rows as lists when ordered, else multisets),
    else a short description of the first difference."""
    if isinstance(a, Error) or isinstance(b, Error):
        if isinstance(a, Error) and isinstance(b, Error) and a.sqlstate == b.sqlstate:
            return None
        return f"error mismatch: {short(a)} vs {short(b)}"
    if a.names != b.names:
        return f"column names {a.names} vs {b.names}"
    if a.oids != b.oids:
        return f"type OIDs {a.oids} vs {b.oids}"
    ra, rb = (a.rows, b.rows) if ordered else (sorted(a.rows, key=_sort_key), sorted(b.rows, key=_sort_key))
    if ra == rb:
        return None
    if len(ra) != len(rb):
        extra = collections.Counter(a.rows) - collections.Counter(b.rows)
        missing = collections.Counter(b.rows) - collections.Counter(a.rows)
        return (f"{len(ra)} rows vs {len(rb)}; only left: {list(extra.elements())[:4]}; "
                f"only right: {list(missing.elements())[:4]}")
    i = next(i for i, (x, y) in enumerate(zip(ra, rb)) if x != y)
    return f"row {i}: {ra[i]} vs {rb[i]}"


def short(r, rows=6):
    if isinstance(r, Error):
        return f"ERROR {r.sqlstate}: {r.message.splitlines()[0] if r.message else ''}"
    more = f" ... ({len(r.rows)} rows)" if len(r.rows) > rows else ""
    return f"{r.names} {r.rows[:rows]}{more}"


# --- what the proxy says ---------------------------------------------------------

class Metrics:
    """switchyard_rewrites_total of the read tenant, by outcome, from /metrics."""

    def __init__(self, admin_port):
        self.url = f"http://127.0.0.1:{admin_port}/metrics"

    def outcomes(self):
        with urllib.request.urlopen(self.url, timeout=5) as r:
            text = r.read().decode()
        counts = collections.Counter()
        for line in text.splitlines():
            m = re.match(r'switchyard_rewrites_total\{(.*)\} (\S+)$', line)
            if m and f'tenant="{TENANT}"' in m.group(1):
                outcome = re.search(r'outcome="([^"]*)"', m.group(1)).group(1)
                counts[outcome] += int(float(m.group(2)))
        return counts


def explain_rewrite(config_text, sql, phase="read_switch"):
    """`switchyard explain` of sql for the read tenant: the decision and text."""
    import os
    import tempfile
    from harness import SY_BIN
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config_text)
    try:
        r = subprocess.run([SY_BIN, "explain", "-c", f.name, "--tenant", TENANT, "--phase", phase, sql],
                           capture_output=True, text=True, timeout=30)
    finally:
        os.unlink(f.name)
    return (r.stdout + r.stderr).strip()


def failure_entry(entry, mode, diff, got, want, rewrite):
    """One entry of /work-style failure notes (markdown), for reports."""
    params = f"\nparams: `{json.dumps(entry['params'])}`" if "params" in entry else ""
    return (f"### {entry['sql'][:90]}\n\nmode: {mode}{params}\n\n```sql\n{entry['sql']}\n```\n\n"
            f"diff: {diff}\n\nproxy:  {short(got)}\n\noracle: {short(want)}\n\n"
            f"switchyard explain:\n```\n{rewrite}\n```\n")
