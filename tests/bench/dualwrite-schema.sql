-- Table and trigger for WORKLOAD=dual-write in pgbench-compare.sh. The trigger
-- is the pgroll-style alternative to switchyard: a BEFORE UPDATE trigger that
-- maps the legacy column onto the unified one inside the database.
DROP TABLE IF EXISTS bench_orders;
CREATE TABLE bench_orders (id int PRIMARY KEY, status text, unified_status text, note text);
INSERT INTO bench_orders SELECT i, '1', 'CREATED', 'seed' FROM generate_series(1, 100000) i;
VACUUM ANALYZE bench_orders;

CREATE OR REPLACE FUNCTION bench_orders_dual_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.unified_status := CASE NEW.status
    WHEN '1' THEN 'CREATED' WHEN '2' THEN 'PENDING_APPROVAL' WHEN '3' THEN 'APPROVED'
    WHEN '4' THEN 'IN_FULFILMENT' WHEN '5' THEN 'DISPATCHED' WHEN '6' THEN 'DELIVERED'
    WHEN '7' THEN 'CANCELLED' ELSE OLD.unified_status END;
  RETURN NEW;
END $$;
CREATE TRIGGER bench_orders_dual_write BEFORE UPDATE OF status ON bench_orders
  FOR EACH ROW EXECUTE FUNCTION bench_orders_dual_write();
