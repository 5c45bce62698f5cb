-- psql, simple protocol: statements, a multi-statement query, an empty one,
-- an error inside a transaction block, and \copy in both directions.
CREATE TEMP TABLE items (id int PRIMARY KEY, name text);
SELECT 1 AS one \; SELECT 2 AS two \; INSERT INTO items VALUES (100, 'multi');
;
BEGIN;
INSERT INTO items VALUES (1, 'a'), (2, 'b');
SELECT 1 / 0;
SELECT 1;
ROLLBACK;
\copy items FROM stdin
1	one
2	two
3	three
\.
\copy items TO stdout
\copy items FROM stdin
4	four
not-a-number	x
\.
SELECT count(*) FROM items;
