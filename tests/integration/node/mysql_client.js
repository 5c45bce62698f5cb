// npm mysql2 through switchyard: server-side prepared statements (execute),
// a pool, COM_CHANGE_USER and COM_RESET_CONNECTION.
const assert = require('assert');
const mysql = require('mysql2/promise');

async function main() {
  const opts = { host: '127.0.0.1', port: Number(process.env.SY_PORT), user: 'app', password: 'apppass', database: 'app' };
  const conn = await mysql.createConnection(opts);
  await conn.query('DROP TABLE IF EXISTS transfers');
  await conn.query('CREATE TABLE transfers (id INT PRIMARY KEY, state VARCHAR(32), unified_state VARCHAR(32))');
  for (let i = 0; i < 20; i++) {
    await conn.execute('INSERT INTO transfers (id, state) VALUES (?, ?)', [i, i % 2 ? 'sent' : 'draft']);
  }
  const [rows] = await conn.execute('SELECT COUNT(*) AS n FROM transfers WHERE state = ?', ['sent']);
  assert.strictEqual(rows[0].n, 10);
  const [[mapped]] = await conn.execute('SELECT COUNT(*) AS n FROM transfers WHERE unified_state = ?', ['SENT']);
  assert.strictEqual(mapped.n, 10);
  await conn.changeUser({ user: 'app', password: 'apppass', database: 'app' });
  const [[again]] = await conn.query('SELECT DATABASE() AS db');
  assert.strictEqual(again.db, 'app');
  await conn.reset();
  await assert.rejects(conn.query('SELECT * FROM no_such_table'), /doesn't exist/);
  await conn.end();

  const pool = mysql.createPool({ ...opts, connectionLimit: 5 });
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.execute('SELECT ? AS v', [`v${i}`])));
  results.forEach(([r], i) => assert.strictEqual(r[0].v, `v${i}`));
  await pool.end();
  console.log('mysql2 ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
