#!/usr/bin/env python3
"""Regenerates mysql_rewrites.json: the MySQL-dialect corpus and the text the
dual_write rewrite gives each statement (`switchyard explain --dialect mysql`).

    tests/corpus/generate_mysql_corpus.py build/switchyard

"params" marks statements executed as server-side prepared statements
(COM_STMT_PREPARE/EXECUTE through npm mysql2); the rest go over COM_QUERY.
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
STATES = ["draft", "sent", "receiving", "received", "completed", "cancelled"]
ORDER = ["Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment", "Dispatched", "Delivered", "Cancelled"]
PR = ["draft", "submitted", "approved"]


def q(v):
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def statements():
    s = []

    def add(sql, params=None, error=None, note=""):
        s.append({"sql": sql, **({"params": params} if params is not None else {}),
                  **({"expect_error": error} if error else {}), "note": note})

    # --- transfers.state: every value, many spellings --------------------------
    for i, v in enumerate(STATES):
        add(f"UPDATE transfers SET state = {q(v)} WHERE id = {i + 1}", note="literal, every mapped value")
    for i, v in enumerate(STATES):
        add(f'UPDATE transfers SET state = "{v}", note = "double-quoted string" WHERE id = {i + 11}',
            note="double-quoted literal (a string without ANSI_QUOTES)")
    for i, v in enumerate(STATES):
        add("UPDATE transfers SET state = ? WHERE id = ?", [v, i + 21], note="prepared, every value")
    add("UPDATE `transfers` SET `state` = 'sent' WHERE `id` = 31", note="backtick identifiers")
    add("UPDATE app.transfers SET state = 'receiving' WHERE id = 32", note="schema-qualified")
    add("UPDATE `app`.`transfers` t SET t.state = 'received' WHERE t.id = 33", note="quoted schema, alias, qualified column")
    add("UPDATE transfers AS t SET t.state = 'completed' WHERE t.id = 34", note="AS alias")
    add("update transfers set state = 'cancelled' where id = 35", note="lower-case keywords")
    add("UPDATE LOW_PRIORITY transfers SET state = 'sent' WHERE id = 36", note="LOW_PRIORITY")
    add("UPDATE IGNORE transfers SET state = 'sent' WHERE id = 37", note="IGNORE")
    add("UPDATE LOW_PRIORITY IGNORE transfers SET state = 'receiving' WHERE outlet_from = 3 ORDER BY id DESC LIMIT 2",
        note="LOW_PRIORITY IGNORE, ORDER BY, LIMIT")
    add("UPDATE transfers SET state = 'received' WHERE outlet_to = 4 ORDER BY id LIMIT 3", note="ORDER BY ... LIMIT")
    add("UPDATE transfers SET state = 'sent' # hash comment\nWHERE id = 38", note="# comment")
    add("UPDATE transfers SET state = 'sent' -- dash comment\nWHERE id = 39", note="-- comment")
    add("UPDATE transfers SET /* inline */ state /* here */ = /* too */ 'draft' WHERE id = 40", note="block comments")
    add("UPDATE transfers SET note = 'it\\'s \\\\ fine', state = 'cancelled' WHERE id = 41",
        note="backslash escapes in another literal")
    add("UPDATE transfers SET state = 'sent', note = 'a;b' WHERE id = 42", note="semicolon inside a string")
    add("UPDATE transfers SET state = ?, note = ? WHERE id = ?", ["received", "from LS", 43], note="prepared, 3 params")
    add("UPDATE transfers SET note = ?, state = ? WHERE id = ?", ["first", "completed", 44], note="prepared, legacy second")
    add("UPDATE transfers SET state = IF(outlet_from = 3, 'sent', 'receiving') WHERE id = 45", note="IF expression")
    add("UPDATE transfers SET state = CASE WHEN outlet_to > 2 THEN 'received' ELSE 'sent' END WHERE id = 46",
        note="CASE expression")
    add("UPDATE transfers SET state = LOWER('SENT') WHERE id = 47", note="function")
    add("UPDATE transfers SET state = (SELECT state FROM transfer_staging WHERE id = 1001) WHERE id = 48",
        note="scalar subquery")
    add("UPDATE transfers SET state = CONCAT('can', 'celled') WHERE id = ?", [49], note="expression with a parameter elsewhere")
    add("UPDATE transfers SET state = 'on hold' WHERE id = 50", note="unmapped, keep")
    add("UPDATE transfers SET state = ? WHERE id = ?", ["on hold", 51], note="prepared unmapped, keep")
    add("UPDATE transfers SET state = NULL WHERE id = 52", note="NULL, keep")
    add("UPDATE transfers SET state = 'sent', unified_state = 'SENT' WHERE id = 53", note="unified explicit: left alone")
    add("UPDATE transfers SET note = 'no state change' WHERE id = 54", note="no mapped column")
    add("UPDATE transfers SET note = 'x' WHERE state = 'draft' AND id = 55", note="legacy only in WHERE")
    add("SELECT id, state FROM transfers WHERE id = 56 FOR UPDATE", note="read: unchanged")
    add("DELETE FROM transfers WHERE id = 199", note="DELETE: unchanged")
    add("UPDATE transfers SET state = 'sent' WHERE id = 57; UPDATE transfers SET state = 'received' WHERE id = 58",
        note="multi-statement")
    add("UPDATE transfers t JOIN transfer_staging s ON s.id = t.id + 941 SET t.state = s.state WHERE t.id = 60",
        note="multi-table JOIN: unsupported")
    add("UPDATE transfers t, transfer_staging s SET t.state = s.state WHERE s.id = t.id + 942 AND t.id = 61",
        note="multi-table comma: unsupported")

    # --- INSERT / REPLACE ----------------------------------------------------------
    add("INSERT INTO transfers (id, state) VALUES (301, 'draft')", note="INSERT literal")
    add("INSERT INTO transfers (id, outlet_from, state) VALUES (302, 1, 'sent'), (303, 2, 'receiving'), (304, 3, 'lost')",
        note="multi-row, one unmapped (keep -> DEFAULT)")
    add("INSERT INTO transfers (id, state) VALUES (?, ?)", [305, "received"], note="prepared INSERT")
    add("INSERT INTO transfers (id, state) VALUES (?, ?), (?, ?)", [306, "sent", 307, "on hold"], note="prepared multi-row")
    add("INSERT INTO transfers (state, id) VALUES ('completed', 308)", note="legacy column first")
    add("INSERT INTO transfers VALUE (309, 1, 1, 'sent', 'SENT', NULL, NOW())", note="VALUE without column list: unsupported")
    add("INSERT INTO transfers SET id = 310, state = 'sent', note = 'insert set'", note="INSERT ... SET")
    add("INSERT INTO transfers SET id = ?, state = ?", [311, "cancelled"], note="prepared INSERT ... SET")
    add("INSERT IGNORE INTO transfers (id, state) VALUES (1, 'cancelled')", note="INSERT IGNORE of a duplicate")
    add("INSERT LOW_PRIORITY INTO transfers (id, state) VALUES (312, 'received')", note="INSERT LOW_PRIORITY")
    add("REPLACE INTO transfers (id, state) VALUES (2, 'completed')", note="REPLACE existing")
    add("REPLACE transfers (id, state) VALUES (313, 'sent')", note="REPLACE without INTO")
    add("REPLACE INTO transfers SET id = 314, state = 'receiving'", note="REPLACE ... SET")
    add("INSERT INTO transfers (id, state) VALUES (3, 'received') ON DUPLICATE KEY UPDATE state = VALUES(state)",
        note="ODKU VALUES(), update path")
    add("INSERT INTO transfers (id, state) VALUES (315, 'sent') ON DUPLICATE KEY UPDATE state = VALUES(state)",
        note="ODKU, insert path")
    add("INSERT INTO transfers (id, state) VALUES (?, ?) ON DUPLICATE KEY UPDATE state = VALUES(state)", [4, "cancelled"],
        note="prepared ODKU")
    add("INSERT INTO transfers (id, state) VALUES (5, 'sent') ON DUPLICATE KEY UPDATE state = 'receiving', note = 'odku'",
        note="ODKU literal")
    add("INSERT INTO transfers (id, state, unified_state) VALUES (316, 'sent', 'SENT')", note="INSERT unified explicit")
    add("INSERT INTO transfers (id, note) VALUES (317, 'no state')", note="INSERT without legacy column")
    add("INSERT INTO transfers (id, state) SELECT id, state FROM transfer_staging WHERE id <= 1003", note="INSERT ... SELECT")
    add("INSERT INTO transfers (id, state) SELECT id + 10, 'received' FROM transfer_staging WHERE id > 1008",
        note="INSERT ... SELECT literal")

    # --- orders: ENUM legacy column, unmapped -> NULL --------------------------------
    for i, v in enumerate(ORDER):
        add(f"UPDATE orders SET status = {q(v)} WHERE id = {i + 1}", note="order literal (ENUM)")
    for i, v in enumerate(ORDER):
        add("UPDATE orders SET status = ? WHERE id = ?", [v, i + 11], note="order prepared (ENUM)")
    add("UPDATE orders SET status = 'On hold' WHERE id = 20", note="order unmapped -> NULL")
    add("UPDATE orders SET status = ? WHERE id = ?", ["On hold", 21], note="order unmapped prepared -> NULL")
    add("UPDATE orders SET status = 'Dispatched', pr_status = 'approved' WHERE id = 22", note="two migrations")
    add("UPDATE orders SET pr_status = 'submitted', status = 'Delivered' WHERE id = 23", note="two migrations, other order")
    add("INSERT INTO orders (id, status, pr_status) VALUES (201, 'Created', 'draft'), (202, 'Awaiting approval', 'submitted')",
        note="order multi-row two migrations")
    add("INSERT INTO orders (id, status, pr_status) VALUES (?, ?, ?)", [203, "In fulfilment", "approved"],
        note="order prepared INSERT")
    add("INSERT INTO orders SET id = 204, status = 'Cancelled', pr_status = 'draft'", note="order INSERT ... SET")

    # --- pr_status: reject -------------------------------------------------------------
    for i, v in enumerate(PR):
        add(f"UPDATE orders SET pr_status = {q(v)} WHERE id = {i + 30}", note="PR literal")
    add("UPDATE orders SET pr_status = 'it\\'s \\\\ odd' WHERE id = 33", note="PR value with quote and backslash")
    add("UPDATE orders SET pr_status = 'bogus' WHERE id = 34", error="switchyard", note="PR unmapped: SIGNAL")
    add("UPDATE orders SET pr_status = ? WHERE id = ?", ["approved", 35], note="PR prepared")
    add("UPDATE orders SET pr_status = ? WHERE id = ?", ["bogus", 36], error="1242", note="PR prepared unmapped: CASE fails")
    add("INSERT INTO orders (id, status, pr_status) VALUES (205, 'Created', 'bogus')", error="switchyard", note="PR INSERT unmapped: SIGNAL")
    add("UPDATE orders SET pr_status = 'approved' WHERE id = 37; UPDATE orders SET pr_status = 'bogus' WHERE id = 38",
        error="switchyard", note="multi-statement, second refused")

    # --- more values through more forms -------------------------------------------------
    for i, v in enumerate(STATES):
        add(f"INSERT INTO transfers (id, outlet_from, outlet_to, state) VALUES ({400 + i}, {i}, {i + 1}, {q(v)})",
            note="INSERT every value")
    for i, v in enumerate(STATES):
        add("INSERT INTO transfers (id, state) VALUES (?, ?) ON DUPLICATE KEY UPDATE state = VALUES(state)",
            [10 + i, v], note="prepared upsert every value")
    return s


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/switchyard"
    out = []
    for entry in statements():
        r = subprocess.run([binary, "explain", "-c", str(HERE / "mysql_corpus.yaml"), "--tenant", "consignments",
                            "--dialect", "mysql", "--json", entry["sql"]], capture_output=True, text=True, check=True)
        d = json.loads(r.stdout)
        entry["decision"] = d["decision"]
        entry["expected"] = d["sql"]
        entry["outcomes"] = sorted({e["outcome"] for e in d["events"]})
        out.append(entry)
    (HERE / "mysql_rewrites.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(out)} statements, {sum(e['decision'] == 'rewrite' for e in out)} rewritten")


if __name__ == "__main__":
    main()
