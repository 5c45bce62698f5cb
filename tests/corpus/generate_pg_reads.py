#!/usr/bin/env python3
"""Regenerates pg_reads.json: the PostgreSQL read corpus of the column-level
read switch (issue 12), over read_schema.sql with the migrations of
read_corpus.yaml.

    tests/corpus/generate_pg_reads.py

There is no expected text: tests/integration/test_read_switch_pg.py runs each
query through the proxy in read_switch and holds it to an oracle (the same
query on a copy of the tables where legacy := reverse(unified)). Each entry:

    sql        the query; parameters are $1, $2, ...
    params     their values (JSON; null is NULL), when there are any
    modes      how the test sends it: simple (psycopg ClientCursor, the simple
               Query protocol, parameters bound client-side), extended (psycopg
               server-side binding, unnamed statement), prepared (psycopg
               prepare=True, a named statement), exec_params (libpq
               PQexecParams with untyped text parameters), copy (COPY ... TO STDOUT)
    ordered    true where ORDER BY fixes the order of every row (compare as
               lists); false: compare as multisets
    expect     switched | unsupported (a shape the rewriter forwards unchanged
               and counts read_unsupported by design) | untouched (reads no
               legacy column)
    features   what the query exercises (syntax found in the text, plus the
               semantic tags given by hand)
"""
import json
import re
from pathlib import Path

HERE = Path(__file__).parent

# Syntax features, recognised in the text so the tags cannot drift from the SQL.
SYNTAX = [
    ("join", r"\bJOIN\b"), ("left_join", r"\bLEFT\s+JOIN\b"), ("group_by", r"\bGROUP\s+BY\b"),
    ("having", r"\bHAVING\b"), ("order_by", r"\bORDER\s+BY\b"), ("limit", r"\bLIMIT\b"),
    ("distinct", r"\bDISTINCT\b"), ("in_list", r"\bIN\s*\(\s*(?!SELECT)"), ("not_in", r"\bNOT\s+IN\b"),
    ("not_equal", r"<>|!="), ("is_null", r"\bIS\s+(NOT\s+)?NULL\b"), ("like", r"\b(I?LIKE)\b"),
    ("exists", r"\bEXISTS\b"), ("in_subquery", r"\bIN\s*\(\s*SELECT\b"), ("cte", r"^\s*WITH\b"),
    ("window", r"\bOVER\s*\("), ("set_op", r"\b(UNION|INTERSECT|EXCEPT)\b"), ("case", r"\bCASE\b"),
    ("param", r"\$\d"), ("subquery", r"\(\s*SELECT\b"), ("lateral", r"\bLATERAL\b"),
]
# Which migration a query reads, by the table it names (see read_corpus.yaml).
TABLES = [
    ("orders.status (enum)", r"\borders\b"), ("cashouts.status (many-to-one)", r"\bcashouts\b"),
    ("transfers.state (unreversible: null)", r"\btransfers\b"),
    ("ops.IndividualProcesses (schema-qualified)", r'ops\."IndividualProcesses"'),
]

ORDER = ["Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment", "Dispatched", "Delivered", "Cancelled"]
PROC = 'ops."IndividualProcesses"'


def entries():
    out = []

    def add(sql, *tags, params=None, ordered=False, expect="switched", modes=None):
        features = [name for name, rx in SYNTAX if re.search(rx, sql, re.I)]
        features += [name for name, rx in TABLES if re.search(rx, sql, re.I)]
        if re.search(r"\bpr_status\b", sql):
            features.append("orders.pr_status (varchar(20), many-to-one)")
        features += tags
        if modes is None:
            # (psycopg sends a query without parameters over the simple
            # protocol unless it is prepared, hence exec_params for those.)
            modes = (["simple", "extended", "prepared", "exec_params"] if params is not None
                     else ["simple", "exec_params", "prepared"])
        e = {"sql": sql}
        if params is not None:
            e["params"] = params
        e.update({"modes": modes, "ordered": ordered, "expect": expect, "features": sorted(set(features))})
        out.append(e)

    # --- orders.status: an enum legacy column, one-to-one ---------------------
    add("SELECT id, status FROM orders ORDER BY id", "projection", ordered=True)
    for v in ORDER:
        add(f"SELECT id, status FROM orders WHERE status = '{v}' ORDER BY id", "eq_literal", ordered=True)
    add("SELECT id FROM orders WHERE status <> 'Delivered' ORDER BY id", ordered=True)
    add("SELECT id, status FROM orders WHERE status IN ('Created', 'Cancelled') ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE status NOT IN ('Created', 'Dispatched', 'Delivered') ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE status IS NULL ORDER BY id", "null_value", ordered=True)
    add("SELECT count(*) FROM orders WHERE status IS NOT NULL", "null_value", "aggregate", ordered=True)
    add("SELECT id, status FROM orders WHERE status = 'On hold' ORDER BY id", "unmapped_value", ordered=True)
    add("SELECT id FROM orders WHERE status IN ('On hold', 'Dispatched') ORDER BY id", "unmapped_value", ordered=True)
    add("SELECT status, count(*) FROM orders GROUP BY status", "aggregate")
    add("SELECT status, count(*) AS n FROM orders GROUP BY status HAVING count(*) > 25 ORDER BY status",
        "aggregate", "enum_order", ordered=True)
    add("SELECT DISTINCT status FROM orders WHERE customer_id IN (1, 2, 3) ORDER BY status", "enum_order", ordered=True)
    add("SELECT id, status FROM orders ORDER BY status DESC NULLS LAST, id LIMIT 25", "enum_order", ordered=True)
    add("SELECT id, status FROM orders ORDER BY status NULLS FIRST, id DESC LIMIT 20 OFFSET 10", "enum_order",
        ordered=True)
    add("SELECT id FROM orders WHERE status::text LIKE 'Awaiting%' ORDER BY id", "cast", ordered=True)
    add("SELECT id FROM orders WHERE status::text NOT LIKE '%ed' ORDER BY id", "cast", ordered=True)
    add("SELECT id, status::text AS s, length(status::text) AS len FROM orders WHERE id <= 40 ORDER BY id",
        "cast", "function", ordered=True)
    add("SELECT o.id, o.status, c.name FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.region = 'north' AND o.status = 'Delivered' ORDER BY o.id", ordered=True)
    add("SELECT c.id, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id "
        "AND o.status = 'Cancelled' GROUP BY c.id ORDER BY c.id", "join_on_legacy", ordered=True)
    add("SELECT c.region, o.status, count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "GROUP BY c.region, o.status ORDER BY c.region, o.status", ordered=True)
    add("SELECT o.id, o.status, p.status AS parent_status FROM orders o JOIN orders p ON p.id = o.parent_id "
        "WHERE o.status = p.status ORDER BY o.id", "self_join", ordered=True)
    add("SELECT o.id, p.id AS parent, p.status FROM orders o LEFT JOIN orders p ON p.id = o.parent_id "
        "AND p.status IN ('Delivered', 'Dispatched') WHERE o.id <= 60 ORDER BY o.id", "self_join", ordered=True)
    add("SELECT a.status, b.status, count(*) FROM orders a JOIN orders b ON b.parent_id = a.id "
        "GROUP BY a.status, b.status", "self_join")
    add("SELECT id, CASE status WHEN 'Delivered' THEN 'done' WHEN 'Cancelled' THEN 'void' ELSE 'open' END AS phase "
        "FROM orders ORDER BY id", ordered=True)
    add("SELECT CASE WHEN status IS NULL THEN 'none' WHEN status IN ('Delivered', 'Cancelled') THEN 'closed' "
        "ELSE 'open' END AS bucket, count(*) FROM orders GROUP BY 1 ORDER BY 1", "null_value", ordered=True)
    add("SELECT c.id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.status = 'Delivered') "
        "AS delivered FROM customers c ORDER BY c.id", "scalar_subquery", "correlated", ordered=True)
    add("SELECT c.id, (SELECT max(o.status) FROM orders o WHERE o.customer_id = c.id) AS top FROM customers c "
        "ORDER BY c.id", "scalar_subquery", "correlated", "enum_order", ordered=True)
    add("SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id "
        "AND o.status = 'Dispatched') ORDER BY c.id", "correlated", ordered=True)
    add("SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id "
        "AND o.status IN ('Delivered', 'Awaiting fulfilment') AND o.amount > 300) ORDER BY c.id", "correlated", ordered=True)
    add("SELECT id, name FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE status = 'Awaiting approval') "
        "ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE status IN (SELECT status FROM orders WHERE id IN (1, 2, 3)) ORDER BY id",
        ordered=True)
    add("SELECT id FROM orders WHERE status NOT IN (SELECT status FROM orders WHERE id BETWEEN 10 AND 12 "
        "AND status IS NOT NULL) ORDER BY id", ordered=True)
    add("SELECT id, status FROM orders WHERE status = (SELECT status FROM orders WHERE id = 42) ORDER BY id",
        "scalar_subquery", ordered=True)
    add("WITH s AS (SELECT id, status FROM orders WHERE amount > 500) "
        "SELECT status, count(*) FROM s GROUP BY status ORDER BY status", ordered=True)
    add("WITH s AS (SELECT status AS st FROM orders) SELECT st, count(*) FROM s WHERE st <> 'Created' "
        "GROUP BY st ORDER BY st", ordered=True)
    add("WITH closed AS (SELECT id FROM orders WHERE status IN ('Delivered', 'Cancelled')) "
        "SELECT o.id, o.pr_status FROM orders o JOIN closed USING (id) ORDER BY o.id", ordered=True)
    add("WITH RECURSIVE chain AS (SELECT id, parent_id, status, 1 AS depth FROM orders WHERE id = 7 "
        "UNION ALL SELECT o.id, o.parent_id, o.status, chain.depth + 1 FROM orders o JOIN chain ON o.id = chain.parent_id "
        "WHERE chain.depth < 6) SELECT id, status, depth FROM chain ORDER BY depth", "recursive", ordered=True)
    add("SELECT id, status, row_number() OVER (PARTITION BY status ORDER BY id) AS rn FROM orders ORDER BY id",
        ordered=True)
    add("SELECT id, status, lag(status) OVER (ORDER BY id) AS prev FROM orders WHERE id <= 50 ORDER BY id",
        ordered=True)
    add("SELECT id, rank() OVER (ORDER BY status, amount DESC) FROM orders ORDER BY id", "enum_order", ordered=True)
    add("SELECT id, count(*) OVER w, first_value(status) OVER w FROM orders WINDOW w AS (PARTITION BY customer_id "
        "ORDER BY status, id) ORDER BY id", ordered=True)
    add("SELECT customer_id, count(*) FILTER (WHERE status = 'Delivered') AS d, "
        "count(*) FILTER (WHERE status IS NULL) AS n FROM orders GROUP BY customer_id ORDER BY customer_id",
        "aggregate_filter", "null_value", ordered=True)
    add("SELECT status FROM orders WHERE id < 6 UNION SELECT status FROM orders WHERE id > 296")
    add("SELECT id, status::text AS s FROM orders WHERE id <= 10 UNION ALL SELECT id, state FROM transfers "
        "WHERE id <= 10 ORDER BY 1, 2", ordered=True)
    add("SELECT status FROM orders WHERE amount > 500 INTERSECT SELECT status FROM orders WHERE amount < 200")
    add("SELECT status FROM orders WHERE customer_id < 20 EXCEPT SELECT status FROM orders WHERE amount > 900")
    add("SELECT max(status), min(status), count(DISTINCT status) FROM orders WHERE customer_id = 3", "aggregate", "enum_order",
        ordered=True)
    add("SELECT customer_id, string_agg(status::text, ',' ORDER BY id) FROM orders GROUP BY customer_id "
        "ORDER BY customer_id", "aggregate", ordered=True)
    add("SELECT array_agg(DISTINCT status) FROM orders WHERE customer_id = 3", "aggregate", ordered=True)
    add("SELECT id, coalesce(status::text, 'none') AS s FROM orders WHERE id % 5 = 0 ORDER BY id", "null_value",
        ordered=True)
    add("SELECT id FROM orders WHERE status IS DISTINCT FROM 'Created' ORDER BY id", "null_value", ordered=True)
    add("SELECT id FROM orders WHERE status IS NOT DISTINCT FROM NULL ORDER BY id", "null_value", ordered=True)
    add("SELECT count(*) FROM orders WHERE status = NULL", "null_value", ordered=True)
    add("SELECT id FROM orders WHERE status IN ('Created', NULL) ORDER BY id", "null_value", ordered=True)
    add("SELECT count(*) FROM orders WHERE status NOT IN ('Created', NULL)", "null_value", ordered=True)
    add("SELECT id, status FROM orders WHERE status > 'In fulfilment' ORDER BY id", "enum_order", ordered=True)
    add("SELECT id FROM orders WHERE status BETWEEN 'Awaiting approval' AND 'Dispatched' ORDER BY id", "enum_order",
        ordered=True)
    add("SELECT id FROM orders WHERE status = ANY (ARRAY['Created', 'Delivered']::order_status[]) ORDER BY id",
        "any_array", ordered=True)
    add("SELECT id, status, unified_status FROM orders WHERE unified_status = 'DISPATCHED' ORDER BY id",
        "unified_column", ordered=True)
    add("SELECT o.status AS s FROM orders AS o WHERE o.id = 7", "alias", ordered=True)
    add('SELECT "status" FROM "orders" WHERE "id" < 10 ORDER BY "id"', "quoted_identifier", ordered=True)
    add("SELECT ID, STATUS FROM ORDERS WHERE STATUS = 'Created' ORDER BY ID", "upper_case", ordered=True)
    add("select id, status from public.orders where status in ('Dispatched', 'Delivered') order by id",
        "schema_qualified", ordered=True)
    # schema.table.column, as SQLAlchemy writes every column of a Table with a schema.
    add("SELECT public.orders.id, public.orders.status FROM public.orders WHERE public.orders.status = 'Delivered' "
        "ORDER BY public.orders.id", "schema_qualified", "schema_qualified_column", ordered=True)
    add("SELECT s, count(*) FROM (SELECT status AS s FROM orders WHERE amount > 100) sub GROUP BY s ORDER BY s",
        "derived_table", ordered=True)
    add("SELECT x.id FROM (SELECT id, status FROM orders) x WHERE x.status = 'Delivered' ORDER BY x.id",
        "derived_table", ordered=True)
    add("SELECT c.id, l.status FROM customers c CROSS JOIN LATERAL (SELECT o.status FROM orders o "
        "WHERE o.customer_id = c.id ORDER BY o.id LIMIT 1) l ORDER BY c.id", "correlated", ordered=True)
    add("SELECT DISTINCT ON (status) status, id FROM orders ORDER BY status, id", "enum_order", ordered=True)
    add("SELECT status, pr_status, count(*) FROM orders GROUP BY GROUPING SETS ((status), (pr_status))",
        "grouping_sets")
    add("SELECT json_build_object('id', id, 'status', status)::text FROM orders WHERE id < 6 ORDER BY id",
        "function", ordered=True)
    add("SELECT id FROM orders WHERE (status, customer_id) = ('Delivered', 10) ORDER BY id", "row_compare",
        ordered=True)
    add("SELECT id FROM orders WHERE status = 'Dispatched' OR (status = 'Delivered' AND amount > 400) ORDER BY id",
        "boolean_logic", ordered=True)
    add("SELECT id FROM orders WHERE NOT (status = 'Created' OR status IS NULL) AND id < 100 ORDER BY id",
        "boolean_logic", "null_value", ordered=True)
    add("SELECT 'Invalid label'::text AS x, count(*) FROM orders WHERE status::text = 'Invalid label'",
        "unmapped_value", "cast", ordered=True)
    # Parameters: the same query over every protocol.
    add("SELECT id FROM orders WHERE status = $1 ORDER BY id", params=["Dispatched"], ordered=True)
    add("SELECT id FROM orders WHERE status = $1 ORDER BY id", "unmapped_value", params=["On hold"], ordered=True)
    add("SELECT id, status FROM orders WHERE status IN ($1, $2) AND amount > $3 ORDER BY id",
        params=["Created", "Delivered", 100], ordered=True)
    add("SELECT id FROM orders WHERE status <> $1 AND customer_id = $2 ORDER BY id", params=["Cancelled", 5],
        ordered=True)
    add("SELECT status, count(*) FROM orders WHERE customer_id < $1 GROUP BY status ORDER BY status", params=[20],
        ordered=True)
    add("SELECT id FROM orders WHERE status = ANY ($1::order_status[]) ORDER BY id", "any_array",
        params=["{Awaiting approval,In fulfilment}"], ordered=True)
    add("SELECT id, status FROM orders WHERE id = $1", params=[7], ordered=True)
    add("SELECT id FROM orders WHERE status IS NOT DISTINCT FROM $1::order_status ORDER BY id", "null_value",
        params=[None], ordered=True)

    # --- orders.pr_status: varchar(20), many-to-one -------------------------
    add("SELECT id, pr_status FROM orders ORDER BY id", "projection", ordered=True)
    add("SELECT id, pr_status FROM orders WHERE pr_status = 'in review' ORDER BY id", "many_to_one", ordered=True)
    add("SELECT id, pr_status FROM orders WHERE pr_status = 'submitted' ORDER BY id", "many_to_one",
        "non_representative", ordered=True)
    add("SELECT id FROM orders WHERE pr_status IN ('draft', 'approved', 'on ice') ORDER BY id", "unmapped_value",
        ordered=True)
    add("SELECT id FROM orders WHERE pr_status NOT IN ('draft', 'fully delivered') ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE pr_status LIKE '%delivered' ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE pr_status ILIKE 'IN %' ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE pr_status ~ '^(sub|rej)' ORDER BY id", "regex", ordered=True)
    add("SELECT id FROM orders WHERE pr_status IS NULL ORDER BY id", "null_value", ordered=True)
    add("SELECT pr_status, count(*) FROM orders GROUP BY pr_status HAVING count(*) >= 10 ORDER BY pr_status",
        "aggregate", ordered=True)
    add("SELECT status, pr_status, count(*) FROM orders GROUP BY status, pr_status ORDER BY 1, 2",
        "two_migrations_one_table", ordered=True)
    add("SELECT id, upper(pr_status), length(pr_status) FROM orders WHERE id <= 30 ORDER BY id", "function",
        ordered=True)
    add("SELECT id, pr_status || '/' || status AS both_ FROM orders WHERE id <= 30 ORDER BY id",
        "two_migrations_one_table", ordered=True)
    add("SELECT id FROM orders WHERE pr_status = 'in review' AND status = 'Created' ORDER BY id",
        "two_migrations_one_table", ordered=True)
    add("SELECT id FROM orders WHERE pr_status = $1 ORDER BY id", "many_to_one", params=["submitted"], ordered=True)
    add("SELECT id, pr_status FROM orders WHERE pr_status LIKE $1 ORDER BY id", params=["%delivered"], ordered=True)
    add("SELECT DISTINCT pr_status FROM orders WHERE id < 40")
    add("SELECT pr_status FROM orders WHERE id BETWEEN 100 AND 120 ORDER BY pr_status, id", ordered=True)

    # --- cashouts.status: many-to-one with reverse, enum unified column --------
    add("SELECT id, status FROM cashouts ORDER BY id", "projection", "many_to_one", ordered=True)
    add("SELECT id, status FROM cashouts WHERE status = 'COMPLETED' ORDER BY id", "many_to_one",
        "non_representative", ordered=True)
    add("SELECT id FROM cashouts WHERE status = 'EXECUTING' ORDER BY id", "many_to_one", ordered=True)
    add("SELECT id FROM cashouts WHERE status = 'APPROVED' ORDER BY id", "many_to_one", "non_representative",
        ordered=True)
    add("SELECT id, status FROM cashouts WHERE status IN ('SUCCESS', 'FAILED') ORDER BY id", "many_to_one",
        ordered=True)
    add("SELECT id FROM cashouts WHERE status = 'LEGACY_HOLD' ORDER BY id", "unmapped_value", ordered=True)
    add("SELECT status, count(*), sum(amount) FROM cashouts GROUP BY status HAVING count(*) > 5 ORDER BY status",
        "aggregate", "many_to_one", ordered=True)
    add("SELECT c.id, c.status, u.name FROM cashouts c JOIN customers u ON u.id = c.user_id WHERE u.tier = 1 "
        "ORDER BY c.id", ordered=True)
    add("SELECT id FROM cashouts WHERE status LIKE 'PENDING%' ORDER BY id", "many_to_one", ordered=True)
    add("SELECT id FROM cashouts WHERE status NOT LIKE '%PENDING%' AND status IS NOT NULL ORDER BY id",
        ordered=True)
    add("SELECT id, status, rank() OVER (PARTITION BY status ORDER BY amount DESC, id) FROM cashouts ORDER BY id",
        ordered=True)
    add("SELECT user_id, max(status) FROM cashouts GROUP BY user_id ORDER BY user_id", "aggregate", ordered=True)
    add("SELECT id FROM cashouts WHERE status > 'F' AND status < 'PENDING_Z' ORDER BY id", "range", ordered=True)
    add("SELECT id, status, unified_status FROM cashouts WHERE unified_status = 'FUNDS_HELD' ORDER BY id",
        "unified_column", "unmapped_value", ordered=True)
    add("SELECT id FROM cashouts WHERE status <> 'SUCCESS' ORDER BY id", "many_to_one", ordered=True)
    add("SELECT count(*) FROM cashouts WHERE status NOT IN ('PENDING', 'EXECUTING', 'COMPLETED')", "many_to_one",
        ordered=True)
    add("SELECT id FROM cashouts WHERE status = $1 ORDER BY id", "many_to_one", params=["PENDING_ADDRESS_CONFIG"],
        ordered=True)
    add("SELECT id FROM cashouts WHERE status = ANY ($1::text[]) ORDER BY id", "any_array", "many_to_one",
        params=["{COMPLETED,EXECUTING,OTP_PENDING}"], ordered=True)
    add("SELECT status, count(*) FROM cashouts WHERE user_id = $1 OR status = $2 GROUP BY status ORDER BY status",
        params=[4, "FAILED"], ordered=True)
    add("SELECT CASE WHEN status IN ('SUCCESS', 'COMPLETED') THEN 'paid' WHEN status IS NULL THEN '?' "
        "ELSE 'open' END AS k, count(*) FROM cashouts GROUP BY 1 ORDER BY 1", "many_to_one", ordered=True)

    # --- transfers.state: unreversible: null ---------------------------------
    add("SELECT id, state FROM transfers ORDER BY id", "projection", ordered=True)
    add("SELECT id FROM transfers WHERE state IS NULL ORDER BY id", "null_value", ordered=True)
    add("SELECT count(*) FROM transfers WHERE state IS NOT NULL", "null_value", ordered=True)
    add("SELECT id FROM transfers WHERE state = 'SETTLED' ORDER BY id", "many_to_one", ordered=True)
    add("SELECT id FROM transfers WHERE state = 'COMPLETED' ORDER BY id", "many_to_one", "non_representative",
        ordered=True)
    add("SELECT id FROM transfers WHERE state = 'UNKNOWN' ORDER BY id", "unmapped_value", ordered=True)
    add("SELECT id FROM transfers WHERE state NOT IN ('FAILED', 'IN_FLIGHT') ORDER BY id", "null_value",
        ordered=True)
    add("SELECT id FROM transfers WHERE state <> 'SETTLED' ORDER BY id", ordered=True)
    add("SELECT coalesce(state, 'n/a') AS s, count(*), count(state) FROM transfers GROUP BY 1 ORDER BY 1",
        "null_value", ordered=True)
    add("SELECT t.id, t.state, c.status FROM transfers t JOIN cashouts c ON c.id = t.cashout_id "
        "WHERE c.status = 'SUCCESS' AND t.state = 'SETTLED' ORDER BY t.id", "join_two_migrated", ordered=True)
    add("SELECT t.id, t.state, c.status FROM transfers t LEFT JOIN cashouts c ON c.id = t.cashout_id "
        "WHERE t.id <= 80 ORDER BY t.id", "join_two_migrated", ordered=True)
    add("SELECT t.id, t.state, o.status FROM transfers t JOIN orders o ON o.id = t.order_id "
        "WHERE o.status IN ('Delivered', 'Dispatched') ORDER BY t.id", "join_two_migrated", ordered=True)
    add("SELECT t.id FROM transfers t JOIN cashouts c ON c.id = t.cashout_id AND t.state = c.status ORDER BY t.id",
        "join_two_migrated", "join_on_legacy", ordered=True)
    add("SELECT c.status, t.state, count(*) FROM cashouts c JOIN transfers t ON t.cashout_id = c.id "
        "GROUP BY c.status, t.state ORDER BY 1, 2", "join_two_migrated", ordered=True)
    add("SELECT id, state FROM transfers WHERE state = $1 ORDER BY id", params=["IN_FLIGHT"], ordered=True)
    add("SELECT id FROM transfers WHERE state IN ($1, $2) ORDER BY id", "unmapped_value",
        params=["FAILED", "UNKNOWN"], ordered=True)
    add("SELECT id FROM transfers WHERE state LIKE '%ED' ORDER BY id", ordered=True)
    add("SELECT id, state, count(*) OVER (PARTITION BY state) FROM transfers ORDER BY id", ordered=True)
    add("SELECT id, CASE state WHEN 'SETTLED' THEN 1 WHEN 'FAILED' THEN -1 ELSE 0 END AS score FROM transfers "
        "ORDER BY id", ordered=True)
    add("SELECT c.id FROM cashouts c WHERE EXISTS (SELECT 1 FROM transfers t WHERE t.cashout_id = c.id "
        "AND t.state = 'SETTLED') AND c.status <> 'FAILED' ORDER BY c.id", "join_two_migrated", "correlated",
        ordered=True)
    add("SELECT c.id, (SELECT count(*) FROM transfers t WHERE t.cashout_id = c.id AND t.state = c.status) AS same "
        "FROM cashouts c ORDER BY c.id", "join_two_migrated", "correlated", "scalar_subquery", ordered=True)
    add("WITH paid AS (SELECT id, user_id FROM cashouts WHERE status IN ('SUCCESS', 'COMPLETED')) "
        "SELECT t.state, count(*) FROM transfers t JOIN paid p ON p.id = t.cashout_id GROUP BY t.state ORDER BY 1",
        "join_two_migrated", ordered=True)

    # --- ops."IndividualProcesses": schema-qualified, quoted ---------------------
    add(f"SELECT id, status FROM {PROC} ORDER BY id", "projection", ordered=True)
    add(f"SELECT id FROM {PROC} WHERE status = 'it''s done \\ finally' ORDER BY id", "quote_backslash",
        ordered=True)
    add(f"SELECT id FROM {PROC} WHERE status = E'it\\'s done \\\\ finally' ORDER BY id", "escape_string",
        ordered=True)
    add(f"SELECT id, status FROM {PROC} WHERE status = 'approved' ORDER BY id", "many_to_one",
        "non_representative", ordered=True)
    add(f"SELECT id FROM {PROC} WHERE status LIKE '%''%' ORDER BY id", "quote_backslash", ordered=True)
    add(f"SELECT status, count(*) FROM {PROC} GROUP BY status ORDER BY status", "aggregate", ordered=True)
    add(f"SELECT p.id, p.status FROM {PROC} AS p WHERE p.status IN ('under review', 'withdrawn') ORDER BY p.id",
        "unmapped_value", "alias", ordered=True)
    add(f"SELECT c.name, p.status FROM customers c JOIN {PROC} p ON p.customer_id = c.id WHERE c.region = 'east' "
        "ORDER BY c.name, p.id", ordered=True)
    add(f'SELECT id FROM ops."IndividualProcesses" WHERE status = $1 ORDER BY id', "quote_backslash",
        params=["it's done \\ finally"], ordered=True)
    add(f"SELECT id FROM {PROC} WHERE status IS NULL OR status = 'rejected' ORDER BY id", "null_value",
        ordered=True)
    add(f'SELECT {PROC}.id, {PROC}.status FROM {PROC} WHERE {PROC}.status = $1 ORDER BY {PROC}.id',
        "quote_backslash", "schema_qualified_column", params=["it's done \\ finally"], ordered=True)

    # --- across tables ------------------------------------------------------------
    add("SELECT status::text FROM orders UNION SELECT status FROM cashouts UNION SELECT state FROM transfers "
        "ORDER BY 1", ordered=True)
    add(f"SELECT 'order' AS kind, count(*) FROM orders WHERE status = 'Delivered' UNION ALL "
        f"SELECT 'process', count(*) FROM {PROC} WHERE status = 'approved' ORDER BY 1", ordered=True)
    add("SELECT o.id, o.status, c.status AS cashout FROM orders o JOIN cashouts c ON c.id = o.id "
        "WHERE o.status::text <> c.status ORDER BY o.id", "join_two_migrated", ordered=True)

    # --- scoping, literals and three-valued logic --------------------------------
    add("WITH orders AS (SELECT 1 AS id, 'x'::text AS status) SELECT id, status FROM orders", "cte", "shadowing",
        expect="untouched", ordered=True)
    add("SELECT status FROM (SELECT id, unified_status AS status FROM orders) orders ORDER BY id", "shadowing",
        "derived_table", expect="untouched", ordered=True)
    add("SELECT unified_status AS status FROM orders WHERE id < 40 ORDER BY status, id", "output_alias",
        expect="untouched", ordered=True)
    add("SELECT id AS status FROM orders WHERE status = 'Created' ORDER BY status", "output_alias", ordered=True)
    add("SELECT c.id, (SELECT status FROM orders WHERE id = c.id) FROM cashouts c ORDER BY c.id", "scalar_subquery",
        "correlated", "nearest_scope", ordered=True)
    add("SELECT (SELECT status) FROM orders ORDER BY id", "scalar_subquery", "correlated", ordered=True)
    # Output names: a cast of a bare column is named after the column.
    add("SELECT id, state::text, CAST(state AS varchar) FROM transfers WHERE id <= 20 ORDER BY id", "cast",
        "output_name", ordered=True)
    add("SELECT status::text FROM orders WHERE id <= 20 ORDER BY id", "cast", "output_name", ordered=True)
    # ORDER BY a name the cast's output column carries, not the table column.
    add("SELECT state::text FROM transfers t ORDER BY state NULLS FIRST, t.id", "cast", "output_name",
        "output_alias", ordered=True)
    add("SELECT DISTINCT ON (state) state::text FROM transfers ORDER BY state, id", "cast", "output_name",
        "output_alias", "distinct", ordered=True)
    add("SELECT id FROM orders WHERE status = E'Cr\\145ated' OR status = U&'Deliv\\0065red' "
        "OR status = $$Cancelled$$ ORDER BY id", "escape_string", ordered=True)
    add("SELECT id FROM orders WHERE status = 'Crea'\n'ted' ORDER BY id", "string_continuation", ordered=True)
    add("SELECT id FROM orders WHERE pr_status LIKE 'in!_%' ESCAPE '!' OR pr_status LIKE 'fully%' ESCAPE '' "
        "ORDER BY id", ordered=True)
    add("SELECT id FROM orders WHERE pr_status = 'in review'::varchar(5) OR pr_status::varchar(5) = 'fully' "
        "ORDER BY id", "cast", ordered=True)
    add("SELECT count(*) FROM transfers WHERE (state = 'SETTLED') IS NOT TRUE", "three_valued", ordered=True)
    add("SELECT count(*) FROM transfers WHERE NOT (state IN ('SETTLED', 'FAILED'))", "three_valued", ordered=True)
    add("SELECT id, state = 'SETTLED' AS settled FROM transfers ORDER BY id", "three_valued", ordered=True)
    add("SELECT count(*) FROM orders WHERE (pr_status = 'submitted') IS NOT TRUE", "three_valued",
        "non_representative", ordered=True)
    add("SELECT id FROM orders WHERE status <> ALL (ARRAY['Created', 'Delivered']::order_status[]) ORDER BY id",
        "any_array", ordered=True)
    add("SELECT count(*) FROM orders WHERE pr_status ILIKE ANY (ARRAY['IN%', 'DRAFT'])", "like", "any_array",
        ordered=True)
    # A grouped legacy column seen from HAVING and from a subquery.
    add("SELECT status, count(*) FROM orders GROUP BY status HAVING status <> 'Created' ORDER BY status",
        "having_on_legacy", ordered=True)
    add("SELECT pr_status, count(*) FROM orders GROUP BY pr_status HAVING pr_status IN ('draft', 'submitted') "
        "ORDER BY 1", "having_on_legacy", "many_to_one", ordered=True)
    add("SELECT c.status, count(*) FROM cashouts c GROUP BY c.status HAVING c.status IN ('COMPLETED', 'SUCCESS') "
        "ORDER BY 1", "having_on_legacy", "many_to_one", ordered=True)
    add("SELECT state, count(*) FROM transfers GROUP BY state HAVING state IS NOT NULL ORDER BY 1",
        "having_on_legacy", "null_value", ordered=True)
    add("SELECT status, (SELECT count(*) FROM transfers t WHERE t.order_id < 50 AND orders.status = 'Created') "
        "FROM orders GROUP BY status ORDER BY 1", "scalar_subquery", "correlated", "grouped_outer_ref",
        ordered=True)

    add("COPY (SELECT id, status FROM orders WHERE id < 10 ORDER BY id) TO STDOUT", "copy_query", modes=["copy"],
        ordered=True)

    # --- reads no legacy column: answers are the same either way ----------------
    add("SELECT count(*) FROM orders", expect="untouched", ordered=True)
    add("SELECT id, amount FROM orders WHERE id < 5 ORDER BY id", expect="untouched", ordered=True)
    add("SELECT unified_status, count(*) FROM orders GROUP BY 1 ORDER BY 1", "unified_column", expect="untouched",
        ordered=True)
    add("SELECT c.*, o.id AS order_id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.id < 5 "
        "ORDER BY o.id", "star_unmigrated", expect="untouched", ordered=True)

    # --- shapes forwarded unchanged by design (read_unsupported) ---------------
    add("SELECT * FROM orders WHERE id < 5 ORDER BY id", "select_star", expect="unsupported", ordered=True)
    add("SELECT o.* FROM orders o WHERE o.id < 5 ORDER BY o.id", "table_star", expect="unsupported", ordered=True)
    add("SELECT t FROM transfers t WHERE t.id = 3", "whole_row", expect="unsupported", ordered=True)
    add("SELECT row_to_json(c)::text FROM cashouts c WHERE c.id < 4 ORDER BY c.id", "whole_row",
        expect="unsupported", ordered=True)
    add("SELECT id FROM orders NATURAL JOIN (SELECT 'Delivered'::order_status AS status) s ORDER BY id",
        "natural_join", expect="unsupported", ordered=True)
    add("SELECT id FROM orders JOIN (VALUES ('Delivered'::order_status)) v(status) USING (status) ORDER BY id",
        "using_legacy", expect="unsupported", ordered=True)
    add("COPY orders (id, status) TO STDOUT", "copy_to", expect="unsupported", modes=["copy"])
    add("SELECT (o).status FROM orders o WHERE id < 4 ORDER BY id", "whole_row", expect="unsupported", ordered=True)
    add("SELECT d FROM orders AS o(a, b, c, d) WHERE a < 5 ORDER BY a", "column_alias_list", expect="unsupported",
        ordered=True)
    add("SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id "
        "AND status = 'Delivered') ORDER BY o.id", "correlated", "unresolvable_name", expect="unsupported",
        ordered=True)
    return out


def main():
    out = entries()
    (HERE / "pg_reads.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    features = {}
    for e in out:
        for f in e["features"]:
            features[f] = features.get(f, 0) + 1
    print(f"{len(out)} queries")
    for f, n in sorted(features.items()):
        print(f"  {n:4d}  {f}")


if __name__ == "__main__":
    main()
