// node-postgres through switchyard: pool, parameterised and named prepared
// queries, a transaction, and a pipelined burst on one client.
const assert = require('assert');
const { Pool } = require('pg');

async function main() {
  const pool = new Pool({
    host: process.env.PGHOST || '127.0.0.1',
    port: Number(process.env.SY_PORT),
    user: 'scramuser',
    password: 'scrampass',
    database: 'app',
    max: 5,
  });
  const client = await pool.connect();
  try {
    await client.query('CREATE TEMP TABLE transfers (id int PRIMARY KEY, state text)');
    await client.query('BEGIN');
    for (let i = 0; i < 50; i++) {
      await client.query({ name: 'ins', text: 'INSERT INTO transfers VALUES ($1, $2)', values: [i, 'INITIATED'] });
    }
    await client.query('COMMIT');
    // node-postgres queues these and writes them back to back.
    const burst = await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.query('SELECT $1::int AS n, state FROM transfers WHERE id = $2', [i, i % 50])));
    burst.forEach((r, i) => assert.deepStrictEqual(r.rows[0], { n: i, state: 'INITIATED' }));
    const count = await client.query('SELECT count(*)::int AS c FROM transfers');
    assert.strictEqual(count.rows[0].c, 50);
    await assert.rejects(client.query('SELECT * FROM no_such_table'), /does not exist/);
    const after = await client.query('SELECT 1 AS one');
    assert.strictEqual(after.rows[0].one, 1);
  } finally {
    client.release();
  }
  const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query('SELECT $1::text AS v', [`v${i}`])));
  parallel.forEach((r, i) => assert.strictEqual(r.rows[0].v, `v${i}`));
  await pool.end();
  console.log('node-postgres ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
