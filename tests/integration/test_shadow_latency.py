"""The shadow latency report and the status page, against the real PostgreSQL.

  (f) a unified column without an index (the legacy one has one, and the table
      has enough rows for a sequential scan to cost): the latency report
      (/v1/slow_reads, one SLOW_READ line) names the slow fingerprint with the
      EXPLAIN of both forms; a read whose forms cost the same is not named;
  (g) the status page in headless Chromium: per tenant the phase ladder with
      the canary on it, the mismatch rate of the last hour as an inline SVG,
      the guard, the latest mismatches with their diffs and the slow
      fingerprints.

No assertion is on a time: the report's content is (its plans, its SQL, the
ratio the proxy computed being over its own threshold).
"""
import json
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import PGPORT, REPO, connect
from test_shadow_pg import MAP, LEGACY, ShadowTest, settled

ROWS = 200_000
ARTIFACTS = Path(REPO) / "build" / "test-artifacts"


def make_big_table(conn, corrupt=()):
    conn.execute("DROP TABLE IF EXISTS sh_orders")
    conn.execute("CREATE TABLE sh_orders (id int PRIMARY KEY, status text, unified_status text, created int,"
                 " amount numeric(10,2))")
    # 'Lost' is rare (one row in 1000): the legacy index finds it at once,
    # the unified column has no index and is scanned in full.
    conn.execute(f"INSERT INTO sh_orders SELECT i, CASE WHEN i % 1000 = 0 THEN 'Lost'"
                 f" ELSE (ARRAY['Awaiting approval', 'Dispatched', 'Delivered'])[1 + i % 3] END, NULL, i / 50, i"
                 f" FROM generate_series(1, {ROWS}) i")
    case = "CASE status " + " ".join(f"WHEN '{l}' THEN '{u}'" for l, u in MAP.items()) + " END"
    conn.execute(f"UPDATE sh_orders SET unified_status = {case}")
    for i in corrupt:
        conn.execute("UPDATE sh_orders SET unified_status = 'LOST' WHERE id = %s", (i,))
    conn.execute("CREATE INDEX sh_orders_status ON sh_orders (status)")
    conn.execute("DROP INDEX IF EXISTS sh_orders_unified_status")
    conn.execute("ANALYZE sh_orders")


class ShadowLatencyTest(ShadowTest):
    def setUp(self):
        super().setUp()
        with connect(PGPORT) as c:
            make_big_table(c)

    def slow_reads(self):
        return json.loads(self.admin.call("GET", "/v1/slow_reads")[1])

    def run_reads(self, n=60):
        with connect(self.port) as conn:
            for k in range(n):
                # Slow when switched: a filter on the status column.
                conn.execute("SELECT id, status FROM sh_orders WHERE status = %s", ("Lost",), prepare=True)
                # The same cost both ways: a primary-key read.
                conn.execute("SELECT id, status FROM sh_orders WHERE id = %s", (k + 1,), prepare=True)
        settled(self.admin)

    # (f) -----------------------------------------------------------------------------------------
    def test_an_unindexed_unified_column_is_reported_with_both_explains(self):
        with self.proxy() as proxy:
            self.run_reads()
            report = self.slow_reads()
            print(f"\n(f) /v1/slow_reads: {json.dumps(report)[:1500]}")
            reads = report["slow_reads"]
            self.assertEqual(len(reads), 1, reads)
            r = reads[0]
            self.assertEqual(r["tenant"], "acme")
            self.assertIn("WHERE status = $1", r["sql"])
            self.assertIn("unified_status", r["switched_sql"])
            self.assertGreaterEqual(r["samples"], 20)
            self.assertGreaterEqual(r["ratio"], 2.0)
            for k in ("legacy_p50_us", "legacy_p99_us", "switched_p50_us", "switched_p99_us"):
                self.assertGreater(r[k], 0, k)
            # Both plans, taken on the shadow connection: the legacy form uses
            # the index on status, the switched one scans the table.
            self.assertRegex(r["legacy_explain"], r"Index.*sh_orders_status")
            self.assertIn("Seq Scan on sh_orders", r["switched_explain"])
            self.assertNotIn("Index", r["switched_explain"])
            # log_parameters is off: the plans are generic, showing $1 where a
            # custom plan would print the bound value ('Lost'::text).
            self.assertIn("$1", r["legacy_explain"])
            self.assertNotIn("'Lost'", r["legacy_explain"])
            self.assertRegex(r["explained_at"], r"^\d{4}-\d\d-\d\dT")
            self.assertEqual(self.admin.total("shadow_slow_reads", tenant="acme"), 1)
            # One SLOW_READ line for the fingerprint, however many slow samples followed.
            self.run_reads(20)
            lines = [x for x in proxy.log_records() if x.get("category") == "SLOW_READ"]
            self.assertEqual(len(lines), 1, lines)
            self.assertEqual(lines[0]["fingerprint"], r["fingerprint"])
            self.assertIn("Seq Scan", lines[0]["switched_explain"])
            self.assertEqual(self.slow_reads()["slow_reads"][0]["explained_at"], r["explained_at"])

    # (g) -----------------------------------------------------------------------------------------
    def test_status_page_in_headless_chromium(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium missing: deploy/install-deps.sh installs it")
        with connect(PGPORT) as c:
            c.execute("UPDATE sh_orders SET unified_status = 'DELIVERED' WHERE id = 150001")  # one corrupted row
        canary = "    canary: { phase: read_switch, percent: 25, sticky_by: session }"
        with self.proxy(canary=canary):
            self.run_reads(30)
            with connect(self.port) as conn:
                conn.execute("SELECT id, status FROM sh_orders WHERE id = 150001")
            settled(self.admin)
            self.assertEqual(len(self.admin.mismatches()), 1)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "status-page-shadow.png"
            profile = tempfile.mkdtemp()
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,1400"]
            url = f"http://127.0.0.1:{self.admin_port}/"
            try:
                dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True,
                                     timeout=60)
                self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
                html = dom.stdout
                section = html[html.index('<section class="tenant" id="tenant-acme">'):]
                section = section[:section.index("</section>")]
                # The ladder: four steps in order, dual_write current, observe done, the canary on read_switch.
                steps = [s for s in ("observe", "dual_write", "read_switch", "cleanup")
                         if f'data-phase="{s}"' in section]
                self.assertEqual(steps, ["observe", "dual_write", "read_switch", "cleanup"])
                self.assertRegex(section, r'class="step dual_write current" data-phase="dual_write"')
                self.assertRegex(section, r'class="step observe done"')
                self.assertRegex(section, r'data-phase="read_switch">read_switch <span class="canary"[^>]*>canary 25.00%')
                # The chart: an SVG the browser parsed, with this minute's bar red (a mismatch in it).
                self.assertIn('<svg class="rate-chart"', section)
                self.assertRegex(section, r'<rect class="minute"[^>]*fill="#dc2626"><title>0 min ago: 1 of \d+')
                self.assertEqual(section.count('class="idle"') + section.count('class="minute"'), 60)
                self.assertIn('class="guard guard-ok"', section)
                # The latest mismatch with its diff, and the slow fingerprint with both plans.
                # The statement normalised (the literal 150001 taken out), the diff naming the row.
                self.assertRegex(section, r'<tr class="mismatch">.*WHERE id = \$1</code>.*id 150001: status')
                self.assertRegex(section, r'<tr class="slow-read"[^>]*><td><code>SELECT id, status FROM sh_orders '
                                          r'WHERE status = \$1</code>')
                self.assertIn("Seq Scan on sh_orders", section)
                r = subprocess.run([chromium, *flags, f"--screenshot={shot}", url], capture_output=True, text=True,
                                   timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr[-2000:])
                self.assertGreater(shot.stat().st_size, 5000)
                print(f"\nstatus page screenshot: {shot}")
            finally:
                shutil.rmtree(profile, ignore_errors=True)


# The cases of test_shadow_pg run in their own file, not again here.
for _name in [n for n in dir(ShadowTest) if n.startswith("test_")]:
    setattr(ShadowLatencyTest, _name, None)
del ShadowTest

if __name__ == "__main__":
    unittest.main()
