-- Tables of the MySQL read-switch corpus (MariaDB). test_read_switch_mysql.py
-- fills them from a seed so that legacy and unified disagree on most rows:
-- a read that is not switched fails the oracle.
DROP TABLE IF EXISTS transfers, orders, outlets, transfer_items;
CREATE TABLE transfers (
  id INT PRIMARY KEY, outlet_from INT, outlet_to INT,
  state VARCHAR(32), unified_state VARCHAR(32), note VARCHAR(200),
  KEY idx_unified_state (unified_state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
  id INT PRIMARY KEY,
  status ENUM('Created','Awaiting approval','Awaiting fulfilment','In fulfilment','Dispatched','Delivered','Cancelled','On hold'),
  unified_status VARCHAR(32), pr_status VARCHAR(40), unified_pr_status VARCHAR(32), amount DECIMAL(10,2) DEFAULT 0,
  outlet_id INT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- outlets.state is an Australian state, not a migrated column: a name the
-- read switch must never take for transfers.state.
CREATE TABLE outlets (
  id INT PRIMARY KEY, name VARCHAR(40), region VARCHAR(20), state VARCHAR(20)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE transfer_items (
  id INT PRIMARY KEY, transfer_id INT, product VARCHAR(40), qty INT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
