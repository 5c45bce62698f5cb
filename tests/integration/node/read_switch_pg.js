// Runs the queries of a JSON file ([{name, sql, params}]) with node-postgres
// as named prepared statements, each twice (the second time node-postgres
// only binds and executes the statement it prepared), and prints the answers
// as JSON: [{fields: [[name, type OID]], rows, again}] or [{error: SQLSTATE}].
// test_read_switch_pg_clients.py runs it through the proxy and against the
// oracle database and compares the two outputs.
const fs = require('fs');
const { Client } = require('pg');

async function main() {
  const queries = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const client = new Client({
    host: process.env.PGHOST || '127.0.0.1',
    port: Number(process.env.SY_PORT),
    user: 'postgres',
    database: process.env.SY_DB,
  });
  await client.connect();
  const out = [];
  for (const q of queries) {
    const config = { name: q.name, text: q.sql, values: q.params, rowMode: 'array' };
    try {
      const first = await client.query(config);
      const again = await client.query(config);
      out.push({
        fields: first.fields.map((f) => [f.name, f.dataTypeID]),
        rows: first.rows,
        again: JSON.stringify(again.rows) === JSON.stringify(first.rows),
      });
    } catch (err) {
      out.push({ error: err.code || String(err) });
    }
  }
  await client.end();
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
