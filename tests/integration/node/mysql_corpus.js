// Runs a corpus through MySQL/MariaDB with npm mysql2: entries with "params"
// as server-side prepared statements (execute: COM_STMT_PREPARE/EXECUTE),
// the others over COM_QUERY. Prints one JSON result per entry.
const fs = require('fs');
const mysql = require('mysql2/promise');

async function main() {
  const corpus = JSON.parse(fs.readFileSync(process.env.SY_CORPUS, 'utf8'));
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: Number(process.env.SY_PORT),
    user: process.env.MYUSER || 'app',
    password: process.env.MYPASSWORD || 'apppass',
    database: 'app',
    multipleStatements: true,
  });
  const results = [];
  for (const e of corpus) {
    try {
      if (e.params) await conn.execute(e.sql, e.params);
      else await conn.query(e.sql);
      results.push({ ok: true });
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
