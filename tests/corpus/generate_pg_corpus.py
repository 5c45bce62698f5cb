#!/usr/bin/env python3
"""Regenerates pg_rewrites.json: the statements of the rewrite corpus and the
text the dual_write rewrite gives each (via `switchyard explain --json`).

    tests/corpus/generate_pg_corpus.py build/switchyard

Review the diff before committing: the expected texts are the golden record
the unit test holds the engine to, and the integration test executes every
statement against PostgreSQL to prove the rewrites are right.
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ORDER = ["Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment", "Dispatched", "Delivered",
         "Cancelled"]
PR = ["draft", "submitted", "approved", "rejected", "partially delivered", "fully delivered"]
PO = ["open", "sent to vendor", "acknowledged", "goods received", "closed"]
CASHOUT = ["PENDING", "OTP_PENDING", "USER_CONFIRM_PENDING", "ADMIN_PENDING", "PENDING_ADDRESS_CONFIG",
           "PENDING_SERVICE_FUNDING", "APPROVED", "EXECUTING", "AWAITING_RESPONSE", "SUCCESS", "COMPLETED", "FAILED",
           "CANCELLED", "EXPIRED"]
ESCROW = ["CREATED", "PAYMENT_PENDING", "PAYMENT_CONFIRMED", "PARTIAL_PAYMENT", "AWAITING_SELLER", "PENDING_SELLER",
          "PENDING_DEPOSIT", "ACTIVE", "COMPLETED", "DISPUTED", "CANCELLED", "REFUNDED", "EXPIRED"]
EXCHANGE = ["CREATED", "AWAITING_DEPOSIT", "RATE_LOCKED", "PAYMENT_RECEIVED", "PAYMENT_CONFIRMED", "PROCESSING",
            "COMPLETED", "FAILED", "CANCELLED", "ADDRESS_GENERATION_FAILED", "PENDING_APPROVAL"]
PROCESS = ["pending documents", "under review", "approved", "rejected", "it's done \\ finally"]


def q(v):
    return "'" + v.replace("'", "''") + "'"


def statements():
    s = []

    def add(sql, params=None, error=None, note=""):
        s.append({"sql": sql, **({"params": params} if params is not None else {}),
                  **({"expect_error": error} if error else {}), "note": note})

    # --- orders.status (enum legacy column) --------------------------------
    for i, v in enumerate(ORDER):
        add(f"UPDATE orders SET status = {q(v)} WHERE id = {i + 1}", note="literal, every mapped value")
    add("update orders set status = 'Dispatched', note = 'shipped by DHL' where id = 8", note="lower-case keywords")
    add("UPDATE orders\n   SET status   =   'Delivered'  -- courier confirmed\n WHERE id = 9", note="comments, spacing")
    add("UPDATE orders o SET status = 'Cancelled' WHERE o.id = 10 RETURNING o.id, o.status", note="alias, RETURNING")
    add("UPDATE ONLY public.orders SET status = 'In fulfilment' WHERE id = 11", note="ONLY, schema-qualified")
    add('UPDATE "orders" SET "status" = \'Awaiting fulfilment\' WHERE "id" = 12', note="quoted identifiers")
    add("UPDATE ORDERS SET STATUS = 'Dispatched' WHERE ID = 13", note="upper-case identifiers fold")
    add("UPDATE orders SET status = 'Awaiting approval'::order_status WHERE id = 14", note="typed literal")
    add("UPDATE orders SET status = 'On hold' WHERE id = 15", note="unmapped, keep")
    add("UPDATE orders SET status = $1 WHERE id = $2", ["Dispatched", 16], note="parameter (enum)")
    add("UPDATE orders SET status = $1, note = $2 WHERE id = $3", ["Delivered", "left at door", 17], note="parameters")
    add("UPDATE orders SET status = $1 WHERE id = $2", ["On hold", 18], note="parameter, unmapped keep")
    add("UPDATE orders SET status = CASE WHEN amount > 100 THEN 'Awaiting approval'::order_status "
        "ELSE 'Awaiting fulfilment'::order_status END WHERE id BETWEEN 19 AND 21", note="CASE expression")
    add("UPDATE orders SET status = COALESCE(NULL, 'Dispatched'::order_status) WHERE id = 22", note="function")
    add("UPDATE orders SET status = s.status FROM order_staging s WHERE orders.id = s.id - 980",
        note="UPDATE ... FROM, another table's column")
    add("UPDATE orders SET status = (SELECT status FROM order_staging WHERE id = 1001) WHERE id = 23",
        note="scalar subquery")
    add("UPDATE orders SET note = 'x', status = 'Created' WHERE id = 24", note="legacy not first")
    add("UPDATE orders SET status = 'Delivered', unified_status = 'DELIVERED' WHERE id = 25",
        note="unified set explicitly: left alone")
    add("UPDATE orders SET status = 'Dispatched', pr_status = 'fully delivered' WHERE id = 26",
        note="two migrations on one table")
    add("UPDATE orders SET status = 'Dispatched' WHERE status = 'Awaiting fulfilment' AND id = 27",
        note="legacy column also in WHERE")
    add("UPDATE orders SET status = CASE WHEN status IS DISTINCT FROM 'Created' THEN 'Cancelled'::order_status "
        "ELSE status END WHERE id = 28", note="IS DISTINCT FROM inside the value")
    add("WITH moved AS (UPDATE orders SET status = 'Dispatched' WHERE id IN (29, 30) RETURNING id) "
        "SELECT count(*) FROM moved", note="data-modifying CTE")
    add("WITH a AS (UPDATE orders SET status = 'Delivered' WHERE id = 31 RETURNING id), "
        "b AS (UPDATE purchase_orders SET po_status = 'closed' WHERE order_id = 31 RETURNING id) "
        "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)", note="two CTEs, two tables")
    add("UPDATE orders SET status = 'Awaiting approval' WHERE id = 32; UPDATE orders SET status = 'Awaiting fulfilment' "
        "WHERE id = 33; SELECT 1", note="several statements in one Query")
    add("UPDATE orders SET status = 'Cancelled' WHERE id = 34 /* trailing comment */;", note="trailing semicolon")
    add("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) UPDATE orders SET status = 'Delivered' WHERE id = 35",
        note="EXPLAIN ANALYZE executes the write")
    add("UPDATE orders SET status = NULL WHERE id = 36", note="NULL follows the unmapped policy (keep)")
    add("UPDATE orders SET status = 'Delivered' WHERE id = (SELECT min(id) FROM orders WHERE note = 'never')",
        note="subquery in WHERE, no row")
    add("UPDATE orders SET pr_status = 'submitted' WHERE id = 40", note="pr_status varchar literal")
    add("UPDATE orders SET pr_status = $1 WHERE id = $2", ["approved", 41], note="pr_status parameter (varchar)")
    add("UPDATE orders SET pr_status = 'on hold' WHERE id = 42", note="pr_status unmapped -> null")
    add("UPDATE orders SET pr_status = $1 WHERE id = $2", ["mystery", 43], note="pr_status unmapped param -> null")
    add("UPDATE orders SET pr_status = upper(pr_status) WHERE id = 44", note="expression over itself")
    add("UPDATE orders SET pr_status = 'partially delivered', status = 'In fulfilment' WHERE id = 45",
        note="two migrations, other order")
    add("UPDATE orders SET note = 'no status change' WHERE id = 46", note="no mapped column: unchanged")
    add("SELECT id, status, pr_status FROM orders WHERE id = 46 FOR UPDATE", note="read with FOR UPDATE: unchanged")
    add("DELETE FROM orders WHERE id = 99", note="DELETE: unchanged")
    add("UPDATE orders SET amount = amount + 1 WHERE status = 'Created' AND id = 47", note="legacy only in WHERE")

    # --- INSERT into orders ------------------------------------------------
    add("INSERT INTO orders (id, status, pr_status) VALUES (201, 'Created', 'draft')", note="INSERT literal")
    add("INSERT INTO orders (id, status, pr_status) VALUES (202, 'Awaiting approval', 'draft'), "
        "(203, 'Dispatched', 'submitted'), (204, 'On hold', 'draft')",
        note="multi-row VALUES, one unmapped (keep -> DEFAULT)")
    add("INSERT INTO orders (id, status, pr_status) VALUES ($1, $2, $3)", [205, "Delivered", "approved"],
        note="INSERT parameters (enum, varchar)")
    add("INSERT INTO orders (id, status, pr_status) VALUES ($1, $2, $3), ($4, $5, $6)",
        [206, "Created", "draft", 207, "Cancelled", "rejected"], note="multi-row parameters")
    add("INSERT INTO orders (status, pr_status, id) VALUES ('In fulfilment', 'draft', 208)", note="legacy column first")
    add("INSERT INTO orders (id, note) VALUES (209, 'no status')",
        note="INSERT without the legacy columns: reported (legacy_default)")
    add("INSERT INTO orders (id, status, pr_status) VALUES (214, DEFAULT, NULL)",
        note="DEFAULT legacy value: reported (legacy_default)")
    add("INSERT INTO orders (id, status, unified_status, pr_status, unified_pr_status) VALUES (215, DEFAULT, NULL, "
        "DEFAULT, NULL)", note="DEFAULT with the unified columns explicit: left alone")
    add("INSERT INTO orders (id, status, unified_status) VALUES (210, 'Created', 'CREATED')",
        note="INSERT with unified explicit")
    add("INSERT INTO orders (id, status, pr_status) SELECT id, status, pr_status FROM order_staging WHERE id <= 1003",
        note="INSERT ... SELECT")
    add("INSERT INTO orders (id, status, pr_status) SELECT id + 100, status AS s, pr_status AS p FROM order_staging "
        "WHERE id > 1008",
        note="INSERT ... SELECT with alias")
    add("INSERT INTO orders (id, status, pr_status) VALUES (211, 'Created', 'draft') ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status",
        note="upsert, insert path")
    add("INSERT INTO orders (id, status, pr_status) VALUES (1, 'Delivered', 'draft') ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status",
        note="upsert, update path")
    add("INSERT INTO orders AS o (id, status, pr_status) VALUES (2, 'Cancelled', 'draft') ON CONFLICT (id) DO UPDATE "
        "SET status = EXCLUDED.status, note = 'upserted' WHERE o.id = 2 RETURNING o.status",
        note="upsert with alias, WHERE, RETURNING")
    add("INSERT INTO orders (id, status, pr_status) VALUES (3, 'Created', 'draft') ON CONFLICT (id) DO NOTHING", note="DO NOTHING")
    add("INSERT INTO orders (id, status, pr_status) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE "
        "SET status = EXCLUDED.status", [4, "Dispatched", "draft"], note="upsert with parameters")
    add("INSERT INTO orders (id, status, pr_status) VALUES (212, 'Created', 'draft') RETURNING id, unified_status",
        note="INSERT RETURNING the unified column")
    add("INSERT INTO orders (id, status, pr_status) VALUES (213, NULL, NULL)", note="INSERT NULL (keep -> DEFAULT)")

    # --- purchase orders (copy policy) ---------------------------------------
    for i, v in enumerate(PO):
        add(f"UPDATE purchase_orders SET po_status = {q(v)} WHERE id = {i + 1}", note="PO literal")
    add("UPDATE purchase_orders SET po_status = 'on hold at vendor' WHERE id = 6", note="PO unmapped -> copy")
    add("UPDATE purchase_orders SET po_status = $1 WHERE id = $2", ["backordered", 7], note="PO unmapped param -> copy")
    add("UPDATE purchase_orders SET po_status = $1 WHERE id = $2", ["acknowledged", 8], note="PO param")
    add("INSERT INTO purchase_orders (id, order_id, po_status) VALUES (101, 1, 'open'), (102, 2, 'in customs')",
        note="PO multi-row, one copied")
    add("UPDATE purchase_orders p SET po_status = 'closed' FROM orders o WHERE p.order_id = o.id AND o.id = 9",
        note="PO UPDATE ... FROM with alias")
    add("UPDATE purchase_orders SET po_status = lower('GOODS RECEIVED') WHERE id = 10", note="PO function")

    # --- cashouts: 14 legacy -> unified enum, keep ------------------------------
    for i, v in enumerate(CASHOUT):
        add(f"UPDATE cashouts SET status = {q(v)} WHERE id = {i + 1}", note="cashout literal, 14->16 map")
    add("UPDATE cashouts SET status = $1 WHERE id = $2", ["EXECUTING", 20], note="cashout param")
    add("UPDATE cashouts SET status = $1 WHERE id = $2", ["LEGACY_ONLY_STATE", 21], note="cashout unmapped param, keep")
    add("UPDATE cashouts SET status = 'LEGACY_ONLY_STATE' WHERE id = 22", note="cashout unmapped literal, keep")
    add("UPDATE cashouts SET status = 'FAILED', amount = 0 WHERE user_id = 3 AND status = 'PENDING'",
        note="cashout many rows")
    add("INSERT INTO cashouts (id, user_id, amount, status) VALUES (101, 1, 50, 'PENDING'), (102, 1, 75, 'OTP_PENDING')",
        note="cashout INSERT into enum unified")
    add("INSERT INTO cashouts (id, user_id, amount, status) VALUES ($1, $2, $3, $4)", [103, 2, 10, "ADMIN_PENDING"],
        note="cashout INSERT param into enum unified")
    add("INSERT INTO cashouts (id, user_id, amount, status) VALUES ($1, $2, $3, $4)", [104, 2, 10, "NOT_A_STATE"],
        note="cashout INSERT unmapped param: typed NULL")
    add("UPDATE cashouts SET status = CASE WHEN amount > 200 THEN 'ADMIN_PENDING' ELSE 'APPROVED' END WHERE id BETWEEN 41 AND 50",
        note="cashout CASE")
    add("WITH done AS (UPDATE cashouts SET status = 'SUCCESS' WHERE id = 23 RETURNING id) SELECT id FROM done",
        note="cashout CTE")

    # --- escrows: reject policy -------------------------------------------------
    for i, v in enumerate(ESCROW):
        add(f"UPDATE escrows SET status = {q(v)} WHERE id = {i + 1}", note="escrow literal")
    add("UPDATE escrows SET status = 'LIMBO' WHERE id = 20", error="unmapped", note="escrow unmapped: rejected")
    add("UPDATE escrows SET status = $1 WHERE id = $2", ["ACTIVE", 21], note="escrow param")
    add("UPDATE escrows SET status = $1 WHERE id = $2", ["LIMBO", 22], error="unmapped",
        note="escrow unmapped param: rejected by the CASE")
    add("UPDATE escrows SET status = 'ACTIVE' WHERE id = 23; UPDATE escrows SET status = 'LIMBO' WHERE id = 24",
        error="unmapped", note="rejection rolls back the whole Query")
    add("INSERT INTO escrows (id, status) VALUES (101, 'CREATED'), (102, 'PAYMENT_PENDING')", note="escrow INSERT")
    add("INSERT INTO escrows (id, status) VALUES (103, 'LIMBO')", error="unmapped", note="escrow INSERT rejected")

    # --- exchanges: legacy column `state` -------------------------------------
    for i, v in enumerate(EXCHANGE):
        add(f"UPDATE exchanges SET state = {q(v)} WHERE id = {i + 1}", note="exchange literal")
    add("UPDATE exchanges SET state = $1, rate = $2 WHERE id = $3", ["RATE_LOCKED", 1.75, 20], note="exchange params")
    add("UPDATE exchanges e SET state = 'COMPLETED' WHERE e.id = 21 AND e.state = 'CREATED' RETURNING e.unified_status",
        note="exchange RETURNING unified")
    add("INSERT INTO exchanges (id, state, rate) VALUES (101, 'AWAITING_DEPOSIT', 2.0)", note="exchange INSERT")
    add("INSERT INTO exchanges (id, state) SELECT 102, 'PROCESSING'", note="exchange INSERT SELECT literal")
    add("UPDATE exchanges SET state = 'PAUSED' WHERE id = 22", note="exchange unmapped keep")

    # --- ops."IndividualProcesses": quoted, schema-qualified ------------------
    for i, v in enumerate(PROCESS):
        add(f'UPDATE ops."IndividualProcesses" SET status = {q(v)} WHERE id = {i + 1}',
            note="process literal (quote and backslash in values)")
    add('UPDATE ops."IndividualProcesses" SET status = $1 WHERE id = $2', ["under review", 10], note="process param")
    add('UPDATE ops."IndividualProcesses" SET status = \'escalated\' WHERE id = 11', note="process unmapped -> null")
    add('INSERT INTO ops."IndividualProcesses" (id, status) VALUES (101, \'approved\')', note="process INSERT")
    add('UPDATE ops.individualprocesses SET status = \'approved\' WHERE id = 1', error="relation",
        note="unquoted name folds to another relation: not ours, unchanged")

    # --- every mapped value once more through server-side parameters ---------
    for i, v in enumerate(ORDER):
        add("INSERT INTO orders (id, status, pr_status) VALUES ($1, $2, $3)", [300 + i, v, PR[i % len(PR)]],
            note="INSERT parameters, every order status")
    for i, v in enumerate(ESCROW[:8]):
        add("UPDATE escrows SET status = $1 WHERE id = $2", [v, 30 + i], note="escrow parameters")

    # --- unsupported forms: forwarded unchanged, reported ---------------------
    add("UPDATE orders SET (status, note) = ('Delivered', 'multi') WHERE id = 48", note="multi-column assignment")
    add("INSERT INTO escrows VALUES (150, 'CREATED', 'PENDING')", note="INSERT without column list")
    add("INSERT INTO exchanges (id, state) SELECT id + 500, state FROM exchanges WHERE id < 3 UNION ALL "
        "SELECT 600, 'CREATED'", note="INSERT ... SELECT with UNION")
    return s


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/switchyard"
    out = []
    for entry in statements():
        r = subprocess.run([binary, "explain", "-c", str(HERE / "corpus.yaml"), "--tenant", "corpus", "--json",
                            entry["sql"]], capture_output=True, text=True, check=True)
        d = json.loads(r.stdout)
        entry["decision"] = d["decision"]
        entry["expected"] = d["sql"]
        entry["outcomes"] = sorted({e["outcome"] for e in d["events"]})
        out.append(entry)
    (HERE / "pg_rewrites.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(out)} statements, {sum(e['decision'] == 'rewrite' for e in out)} rewritten")


if __name__ == "__main__":
    main()
