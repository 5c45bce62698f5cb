-- Tables of the read corpus (tests/corpus/pg_reads.json, migrations in
-- read_corpus.yaml). Unlike schema.sql, legacy and unified DISAGREE on most
-- rows: a read that is not really switched gives a visibly different answer.
-- Every vocabulary has mapped values, values the map does not know (legacy
-- 'On hold', unified 'ARCHIVED', ...) and NULLs on both sides. The data is a
-- pure function of the row id, so every run sees the same rows.
DROP SCHEMA IF EXISTS ops CASCADE;
DROP TABLE IF EXISTS customers, orders, cashouts, transfers CASCADE;
DROP TYPE IF EXISTS order_status, unified_tx_status;

-- orders.status is an enum (its type OID must survive the switch); 'On hold'
-- is a legacy value the map does not know.
CREATE TYPE order_status AS ENUM ('Created', 'Awaiting approval', 'Awaiting fulfilment', 'In fulfilment',
                                  'Dispatched', 'Delivered', 'Cancelled', 'On hold');
-- cashouts.unified_status is an enum on the unified side.
CREATE TYPE unified_tx_status AS ENUM ('PENDING', 'AWAITING_PAYMENT', 'PAYMENT_CONFIRMED', 'FUNDS_HELD',
  'AWAITING_APPROVAL', 'OTP_PENDING', 'ADMIN_PENDING', 'PROCESSING', 'AWAITING_RESPONSE', 'RELEASE_PENDING',
  'SUCCESS', 'FAILED', 'CANCELLED', 'DISPUTED', 'EXPIRED', 'PARTIAL_PAYMENT');

CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, region text, tier int);
-- orders: two migrations (status: enum, pr_status: varchar(20)); parent_id
-- makes a self-join of a migrated table.
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, parent_id int, status order_status,
                     unified_status text, pr_status varchar(20), unified_pr_status text,
                     amount numeric(10, 2), note text);
CREATE TABLE cashouts (id int PRIMARY KEY, user_id int, amount numeric(10, 2), status varchar(32),
                       unified_status unified_tx_status);
-- transfers.state migrates under `unreversible: null`; a transfer belongs to
-- a cashout and an order (a join of two migrated tables).
CREATE TABLE transfers (id int PRIMARY KEY, cashout_id int, order_id int, state text, unified_state text,
                        amount numeric(10, 2));
CREATE SCHEMA ops;
CREATE TABLE ops."IndividualProcesses" (id int PRIMARY KEY, customer_id int, status text, unified_status text);

-- pick(arr, k): arr[k mod len + 1]; NULL entries stand for NULL values.
CREATE FUNCTION pg_temp.pick(arr text[], k int) RETURNS text LANGUAGE sql IMMUTABLE
  AS 'SELECT arr[(k % array_length(arr, 1)) + 1]';

INSERT INTO customers
  SELECT i, 'cust_' || i, (ARRAY['north', 'south', 'east', 'west'])[i % 4 + 1], i % 3 FROM generate_series(1, 40) i;

-- Legacy and unified walk their vocabularies with different strides, so the
-- stored legacy value rarely equals reverse(unified).
INSERT INTO orders
  SELECT i, i % 40 + 1, CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 7) % 300 + 1 END,
         pg_temp.pick(ARRAY['Created', 'Awaiting approval', 'Awaiting fulfilment', 'In fulfilment', 'Dispatched',
                            'Delivered', 'Cancelled', 'On hold', NULL], i * 5 + 3)::order_status,
         pg_temp.pick(ARRAY['CREATED', 'PENDING_APPROVAL', 'APPROVED', 'IN_FULFILMENT', 'DISPATCHED', 'DELIVERED',
                            'CANCELLED', 'ARCHIVED', NULL, 'DISPATCHED', 'DELIVERED'], i * 7),
         pg_temp.pick(ARRAY['draft', 'submitted', 'in review', 'approved', 'rejected', 'partially delivered',
                            'fully delivered', 'on ice', NULL], i * 4 + 1),
         pg_temp.pick(ARRAY['DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED', 'DELIVERED_PART', 'DELIVERED', 'ARCHIVED',
                            NULL, 'SUBMITTED'], i * 2 + i / 9),
         (i * 37 % 1000) + 0.25, CASE WHEN i % 3 = 0 THEN 'note ' || i END
  FROM generate_series(1, 300) i;

INSERT INTO cashouts
  SELECT i, i % 40 + 1, (i * 53 % 900) + 0.5,
         pg_temp.pick(ARRAY['PENDING', 'OTP_PENDING', 'USER_CONFIRM_PENDING', 'ADMIN_PENDING', 'PENDING_ADDRESS_CONFIG',
                            'PENDING_SERVICE_FUNDING', 'APPROVED', 'EXECUTING', 'AWAITING_RESPONSE', 'SUCCESS',
                            'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED', 'LEGACY_HOLD', NULL], i * 3 + 5),
         pg_temp.pick(ARRAY['PENDING', 'OTP_PENDING', 'AWAITING_APPROVAL', 'ADMIN_PENDING', 'PROCESSING',
                            'AWAITING_RESPONSE', 'SUCCESS', 'FAILED', 'CANCELLED', 'EXPIRED', 'FUNDS_HELD', 'DISPUTED',
                            NULL, 'SUCCESS', 'PROCESSING'], i * 11)::unified_tx_status
  FROM generate_series(1, 200) i;

INSERT INTO transfers
  SELECT i, CASE WHEN i % 6 = 0 THEN NULL ELSE (i * 13) % 200 + 1 END, (i * 17) % 300 + 1,
         pg_temp.pick(ARRAY['INITIATED', 'OTP_SENT', 'SUBMITTED', 'IN_FLIGHT', 'SETTLED', 'COMPLETED', 'FAILED',
                            'BOUNCED', 'CANCELLED', 'EXPIRED', 'UNKNOWN', NULL], i * 5 + 2),
         pg_temp.pick(ARRAY['PENDING', 'OTP_PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'CANCELLED', 'EXPIRED',
                            'DISPUTED', 'ON_HOLD', NULL, 'SUCCESS'], i * 3),
         (i * 29 % 700) + 0.75
  FROM generate_series(1, 250) i;

INSERT INTO ops."IndividualProcesses"
  SELECT i, i % 40 + 1,
         pg_temp.pick(ARRAY['pending documents', 'under review', 'approved', 'rejected', 'it''s done \ finally',
                            'withdrawn', NULL], i * 3 + 1),
         pg_temp.pick(ARRAY['PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'STALLED', NULL], i * 5 + 2)
  FROM generate_series(1, 60) i;

ANALYZE;
