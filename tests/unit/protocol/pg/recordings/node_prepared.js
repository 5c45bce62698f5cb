// node-postgres: named prepared statements (Parse once, then Bind/Execute by
// name), unnamed parameterised queries queued back to back, and an error.
const assert = require('assert');
const { Client } = require('pg');

async function main() {
  const client = new Client({ host: '127.0.0.1', port: Number(process.env.SY_PORT), user: 'postgres', database: 'app' });
  await client.connect();
  await client.query('CREATE TEMP TABLE transfers (id int PRIMARY KEY, state text)');
  await client.query('BEGIN');
  for (let i = 0; i < 3; i++) {
    await client.query({ name: 'ins', text: 'INSERT INTO transfers VALUES ($1, $2)', values: [i, 'NEW'] });
  }
  await client.query('COMMIT');
  const burst = await Promise.all([0, 1, 2].map((i) => client.query({ name: 'get', text: 'SELECT state FROM transfers WHERE id = $1', values: [i] })));
  burst.forEach((r) => assert.strictEqual(r.rows[0].state, 'NEW'));
  await assert.rejects(client.query({ name: 'bad', text: 'SELECT * FROM no_such_table WHERE id = $1', values: [1] }), /does not exist/);
  const after = await client.query('SELECT $1::int AS one', [1]);
  assert.strictEqual(after.rows[0].one, 1);
  await client.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
