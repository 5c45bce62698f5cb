-- Tables of the MySQL rewrite corpus (MariaDB). Rows start consistent.
DROP TABLE IF EXISTS transfers, orders, transfer_staging;
CREATE TABLE transfers (
  id INT PRIMARY KEY, outlet_from INT, outlet_to INT,
  state VARCHAR(32), unified_state VARCHAR(32), note VARCHAR(200),
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
  id INT PRIMARY KEY,
  status ENUM('Created','Awaiting approval','Awaiting fulfilment','In fulfilment','Dispatched','Delivered','Cancelled','On hold'),
  unified_status VARCHAR(32), pr_status VARCHAR(40), unified_pr_status VARCHAR(32), amount DECIMAL(10,2) DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE transfer_staging (id INT, state VARCHAR(32)) ENGINE=InnoDB;
INSERT INTO transfers (id, outlet_from, outlet_to, state, unified_state)
  SELECT seq, seq % 7, seq % 5, 'draft', 'OPEN' FROM seq_1_to_200;
INSERT INTO orders (id, status, unified_status, pr_status, unified_pr_status)
  SELECT seq, 'Created', 'CREATED', 'draft', 'DRAFT' FROM seq_1_to_100;
INSERT INTO transfer_staging SELECT seq, 'sent' FROM seq_1001_to_1010;
