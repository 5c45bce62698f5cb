// node-postgres named prepared statements ({ name, text, values }) executed
// many times, interleaved, some queued back to back, with errors at Bind/Execute
// and at Parse in between. Prints one JSON transcript (every step's rows or
// error) for test_session_layer_pg.py to compare, direct against proxied.
// The table sl_named (id 1..100, status '0') is made by the test.
const { Client } = require('pg');

const statements = {
  q_select: 'SELECT id, status FROM sl_named WHERE id = $1',
  q_update: 'UPDATE sl_named SET status = $1 WHERE id = $2 RETURNING id, status',
  q_sum: 'SELECT $1::int + $2::int AS sum, $3::text AS label',
  q_divide: 'SELECT 100 / $1::int AS q',
  q_bad: 'SELEC $1::int', // fails at Parse
};

async function main() {
  const client = new Client({
    host: process.env.PGHOST || '127.0.0.1',
    port: Number(process.env.SY_PORT),
    user: 'postgres',
    database: 'app',
  });
  await client.connect();
  const transcript = [];
  const step = async (label, name, values) => {
    try {
      const r = await client.query({ name, text: statements[name], values });
      transcript.push({ step: label, rows: r.rows, command: r.command, rowCount: r.rowCount });
    } catch (err) {
      transcript.push({ step: label, error: { code: err.code, message: err.message } });
    }
  };

  for (let i = 1; i <= 60; i++) {
    const id = ((i * 37) % 100) + 1;
    await step(`q_select ${i}`, 'q_select', [id]);
    await step(`q_update ${i}`, 'q_update', [String(1 + (i % 3)), id]);
    await step(`q_sum ${i}`, 'q_sum', [i, i * 2, `n${i}`]);
    if (i % 10 === 0) await step(`q_divide ${i}`, 'q_divide', [i]);
    if (i === 20) await step('q_divide 0', 'q_divide', [0]); // error at Execute
    if (i === 30) await step('q_bad parse', 'q_bad', [1]); // error at Parse
    if (i === 40) await step('q_bad again', 'q_bad', [2]); // never parsed, so Parse again
    if (i === 50) await step('q_update bad param', 'q_update', ['1', 'not a number']); // error at Bind
  }

  // Queued without waiting: node-postgres writes them back to back, so
  // several Parse/Bind/Execute/Sync runs are in flight at once.
  const burst = [];
  for (let i = 0; i < 60; i++) {
    const names = ['q_select', 'q_sum', 'q_update', 'q_divide'];
    const name = names[i % names.length];
    const values = {
      q_select: [(i % 100) + 1],
      q_sum: [i, 1, `b${i}`],
      q_update: [String(1 + (i % 3)), (i % 100) + 1],
      q_divide: [i % 8 === 3 ? 0 : i + 1],
    }[name];
    burst.push(step(`burst ${i} ${name}`, name, values));
  }
  await Promise.all(burst);

  const pid = await client.query('SELECT count(*)::int AS n FROM pg_prepared_statements');
  transcript.push({ step: 'prepared on the server', rows: pid.rows });
  await client.end();
  console.log(JSON.stringify(transcript));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
