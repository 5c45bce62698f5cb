"""Property test of the PostgreSQL read switch: thousands of random reads
(read_query_gen.py: predicates with mapped, unmapped and NULL literals, every
comparison operator, IN lists, LIKE, joins incl. two migrated tables and a
self-join, GROUP BY/HAVING, DISTINCT, ORDER BY/LIMIT, subqueries) and
mutations of the corpus queries, each held to the oracle of
test_read_switch_pg.py: through the proxy in read_switch == the original on
sy_reads_oracle (or == the unswitched read when counted read_unsupported).

One connection each way; most cases over the simple protocol, every sixth
with parameters over PQexecParams. Reproducible: SY_PROPERTY_SEED (default
below), SY_PROPERTY_CASES (default 3000); a failure prints its case number,
and SY_PROPERTY_CASE=N runs just that case. Failing cases are shrunk to a
minimal query before they are reported.
"""
import collections
import json
import os
import random
import re
import unittest

from harness import PGPORT, Proxy, connect, free_port
from read_oracle import (CORPUS, DB, ORACLE_DB, Metrics, explain_rewrite, failure_entry, load_databases,
                         migrations, read_config, rebuild_oracle, run, same_result)
from read_query_gen import Gen, mutate, shrink

SEED = int(os.environ.get("SY_PROPERTY_SEED", "20251201"))
CASES = int(os.environ.get("SY_PROPERTY_CASES", "3000"))
MAX_UNSUPPORTED_SHARE = 0.15
EXAMPLES = 3  # failing cases shrunk and reported per kind of failure


def signature(what):
    """The kind of a failure: what differs, without the values."""
    head, _, diff = what.partition(": ")
    if diff.startswith("error mismatch"):
        return f"{head}: error mismatch " + "/".join(re.findall(r"ERROR (\w{5})", diff) or ["?"])
    return f"{head}: " + re.sub(r"\d+", "N", re.split(r" \[|:|;", diff)[0])


class ReadSwitchProperty(unittest.TestCase):
    def test_random_reads_match_the_oracle(self):
        """Cases 0 .. CASES/2-1 run with read_corpus.yaml's `unreversible`
        policies, the rest with every policy flipped (legacy <-> null)."""
        load_databases()
        admin = free_port()
        flipped = {m["name"]: "legacy" if m["unreversible"] == "null" else "null" for m in migrations()}
        corpus = [e for e in json.loads((CORPUS / "pg_reads.json").read_text())
                  if e["expect"] == "switched" and "params" not in e and "simple" in e["modes"]]
        only = os.environ.get("SY_PROPERTY_CASE")
        stats = collections.Counter()
        failures = []
        for policies, cases in ((None, range(CASES // 2)), (flipped, range(CASES // 2, CASES))):
            if only:
                cases = [int(only)] if int(only) in cases else []
            if not cases:
                continue
            config = read_config(free_port(), admin, unreversible=policies)
            rebuild_oracle(config)
            self.run_cases(config, admin, cases, corpus, stats, failures)
        total = sum(stats[k] for k in ("generated", "generated+params", "mutated"))
        share = stats["read_unsupported"] / max(total, 1)
        print(f"\nread switch property: seed {SEED}, {total} cases ({stats['generated']} generated, "
              f"{stats['generated+params']} with parameters, {stats['mutated']} mutated corpus queries; half with "
              f"the unreversible policies flipped); read_unsupported {stats['read_unsupported']} ({share:.1%}); "
              f"{len(failures)} failing")
        notes = []
        by_kind = collections.defaultdict(list)
        for f in failures:
            by_kind[signature(f[4][0])].append(f)
        for sig, group in sorted(by_kind.items(), key=lambda g: -len(g[1])):
            print(f"  {len(group)} failing: {sig}")
            for i, kind, entry, mode, (what, got, want), config in \
                    sorted(group, key=lambda f: len(f[2]["sql"]))[:EXAMPLES]:
                print(f"    case {i} ({kind}, {mode}): {entry['sql']}"
                      + (f"  params={entry['params']}" if "params" in entry else "") + f"\n      {what}")
                notes.append(failure_entry(entry, mode, f"case {i} (seed {SEED}): {what}", got, want,
                                           explain_rewrite(config, entry["sql"])))
        if os.environ.get("SY_READ_PROPERTY_FAILURES"):
            with open(os.environ["SY_READ_PROPERTY_FAILURES"], "w") as f:
                f.write("# Read switch property failures\n\n" + "\n".join(notes))
        self.assertEqual(len(failures), 0, f"{len(failures)} of {total} cases fail (seed {SEED}); see above")
        self.assertLessEqual(share, MAX_UNSUPPORTED_SHARE)

    def run_cases(self, config, admin, cases, corpus, stats, failures):
        with Proxy(config) as proxy, connect(proxy.port, dbname=DB) as via, \
                connect(PGPORT, dbname=ORACLE_DB) as oracle, connect(PGPORT, dbname=DB) as plain:
            metrics = Metrics(admin)

            def check(entry, ordered, mode):
                """None if the case holds, else (what, got, want)."""
                before = metrics.outcomes()
                got = run(via, entry, mode)
                after = metrics.outcomes()
                if after["read_unsupported"] > before["read_unsupported"]:
                    stats["read_unsupported"] += 1
                    want = run(plain, entry, mode)
                    diff = same_result(got, want, ordered)
                    return diff and ("read_unsupported but not the unswitched answer: " + diff, got, want)
                want = run(oracle, entry, mode)
                diff = same_result(got, want, ordered)
                return diff and ("switched read differs from the oracle: " + diff, got, want)

            shrunk = collections.Counter()  # failures shrunk, by signature
            for i in cases:
                rng = random.Random(f"{SEED}:{i}")
                if i % 5 == 4 and corpus:
                    # A mutated corpus query (a generated one when nothing changed).
                    source = rng.choice(corpus)
                    sql = mutate(source["sql"], rng)
                    if sql:
                        stats["mutated"] += 1
                        entry = {"sql": sql}
                        # Only literals, operators and LIMITs change: an ORDER BY
                        # that fixed every row's place still does.
                        result = check(entry, source["ordered"], "simple")
                        if result:
                            failures.append((i, "mutated", entry, "simple", result, config))
                        continue
                params = i % 6 == 5
                qry = Gen(rng, use_params=params).query()
                mode = "exec_params" if params else "simple"
                kind = "generated+params" if params else "generated"
                stats[kind] += 1
                result = check(qry.entry(), qry.ordered, mode)
                if result and shrunk[signature(result[0])] < EXAMPLES:
                    shrunk[signature(result[0])] += 1
                    small = shrink(qry, lambda q_: check(q_.entry(), q_.ordered, mode) is not None)
                    failures.append((i, kind, small.entry(), mode,
                                     check(small.entry(), small.ordered, mode) or result, config))
                elif result:
                    failures.append((i, kind, qry.entry(), mode, result, config))


if __name__ == "__main__":
    unittest.main()
