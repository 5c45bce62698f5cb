-- Tables of the rewrite corpus. Existing rows start consistent (as after a
-- backfill), so after the corpus runs every row must still satisfy
-- unified = map(legacy).
DROP SCHEMA IF EXISTS ops CASCADE;
DROP TABLE IF EXISTS orders, purchase_orders, cashouts, escrows, exchanges, order_staging CASCADE;
DROP TYPE IF EXISTS order_status, unified_tx_status;
CREATE TYPE order_status AS ENUM ('Created', 'Awaiting approval', 'Awaiting fulfilment', 'In fulfilment',
                                  'Dispatched', 'Delivered', 'Cancelled', 'On hold');
CREATE TYPE unified_tx_status AS ENUM ('PENDING', 'AWAITING_PAYMENT', 'PAYMENT_CONFIRMED', 'FUNDS_HELD',
  'AWAITING_APPROVAL', 'OTP_PENDING', 'ADMIN_PENDING', 'PROCESSING', 'AWAITING_RESPONSE', 'RELEASE_PENDING',
  'SUCCESS', 'FAILED', 'CANCELLED', 'DISPUTED', 'EXPIRED', 'PARTIAL_PAYMENT');
CREATE TABLE orders (id int PRIMARY KEY, status order_status, unified_status text,
                     pr_status varchar(40), unified_pr_status text, note text, amount numeric DEFAULT 0,
                     updated_at timestamptz DEFAULT now());
CREATE TABLE order_staging (id int, status order_status, pr_status varchar(40));
CREATE TABLE purchase_orders (id int PRIMARY KEY, order_id int, po_status text, unified_po_status text);
CREATE TABLE cashouts (id int PRIMARY KEY, user_id int, amount numeric, status varchar(32),
                       unified_status unified_tx_status);
CREATE TABLE escrows (id int PRIMARY KEY, status text, unified_status text);
CREATE TABLE exchanges (id int PRIMARY KEY, state text, unified_status text, rate numeric);
CREATE SCHEMA ops;
CREATE TABLE ops."IndividualProcesses" (id int PRIMARY KEY, status text, unified_status text);

INSERT INTO orders (id, status, unified_status, pr_status, unified_pr_status)
  SELECT i, 'Created', 'CREATED', 'draft', 'DRAFT' FROM generate_series(1, 100) i;
INSERT INTO order_staging SELECT i, 'Awaiting approval', 'submitted' FROM generate_series(1001, 1010) i;
INSERT INTO purchase_orders SELECT i, i, 'open', 'OPEN' FROM generate_series(1, 50) i;
INSERT INTO cashouts SELECT i, i % 7, i * 10, 'PENDING', 'PENDING' FROM generate_series(1, 50) i;
INSERT INTO escrows SELECT i, 'CREATED', 'PENDING' FROM generate_series(1, 50) i;
INSERT INTO exchanges SELECT i, 'CREATED', 'PENDING', 1.5 FROM generate_series(1, 50) i;
INSERT INTO ops."IndividualProcesses" SELECT i, 'pending documents', 'PENDING' FROM generate_series(1, 50) i;
