// Runs read queries with npm mysql2 and prints their results as JSON: with
// SY_MODE=execute every query is a server-side prepared statement
// (COM_STMT_PREPARE/EXECUTE, the binary protocol), else COM_QUERY (queries
// with params then go through execute too, since the text protocol has no
// placeholders). Input: SY_QUERIES, a JSON file [{sql, params?}]; SY_PORT;
// SY_DB. Output per query: {ok, columns: [[name, type]], rows} or {ok: false, error}.
const fs = require('fs');
const mysql = require('mysql2/promise');

async function main() {
  const queries = JSON.parse(fs.readFileSync(process.env.SY_QUERIES, 'utf8'));
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: Number(process.env.SY_PORT),
    user: process.env.MYUSER || 'app',
    password: process.env.MYPASSWORD || 'apppass',
    database: process.env.SY_DB || 'app',
    rowsAsArray: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
  });
  const execute = process.env.SY_MODE === 'execute';
  const results = [];
  for (const q of queries) {
    try {
      const [rows, fields] = execute || q.params ? await conn.execute(q.sql, q.params || []) : await conn.query(q.sql);
      results.push({
        ok: true,
        columns: (fields || []).map((f) => [f.name, f.columnType]),
        rows: Array.isArray(rows) ? rows.map((r) => r.map((v) => (v === null ? null : String(v)))) : [],
      });
    } catch (err) {
      results.push({ ok: false, code: err.errno, error: String(err.message) });
    }
  }
  await conn.end();
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
