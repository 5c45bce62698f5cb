// npm mysql2 server-side prepared statements through the binary protocol:
// 100 statements prepared (COM_STMT_PREPARE) on one connection, executed
// interleaved (COM_STMT_EXECUTE), half closed (COM_STMT_CLOSE), the other
// half executed again, then COM_RESET_CONNECTION (mysql2's reset()), after
// which every old statement id (and a text PREPARE's name) is unknown to the
// server and new statements work.
// Prints one JSON transcript for test_session_layer_mysql.py to compare,
// direct against proxied. The table sl_transfers (id 1..100, state 'draft')
// is made by the test.
const mysql = require('mysql2/promise');

const STATES = ['draft', 'sent', 'receiving', 'completed'];

// Statement i: one of four kinds, each text distinct (mysql2 caches by text).
function statementText(i) {
  switch (i % 4) {
    case 0: return `SELECT ? + ${i} AS v`;
    case 1: return `SELECT id, state FROM sl_transfers WHERE id = ? AND ${i} = ${i}`;
    case 2: return `UPDATE sl_transfers SET state = ? WHERE id = ? AND ${i} = ${i}`;
    default: return `SELECT CONCAT(?, '-${i}') AS s, ? * 2 AS twice`;
  }
}

function params(i, round) {
  switch (i % 4) {
    case 0: return [round * 1000 + i];
    case 1: return [(i % 100) + 1];
    case 2: return [STATES[(Math.floor(i / 4) + round) % STATES.length], (i % 100) + 1];
    default: return [`r${round}`, i];
  }
}

// Column metadata mysql2 gives back, reduced to what the server decides.
function outcome(result) {
  const [rows] = result;
  if (Array.isArray(rows)) return { rows: rows.map((r) => ({ ...r })) };
  return { affectedRows: rows.affectedRows, changedRows: rows.changedRows, info: rows.info };
}

async function main() {
  const conn = await mysql.createConnection({
    host: '127.0.0.1', port: Number(process.env.SY_PORT), user: 'app', password: 'apppass', database: 'app',
    // bigint results as strings, so the transcript is plain JSON
    supportBigNumbers: true, bigNumberStrings: true,
  });
  const transcript = [];
  // MariaDB numbers statements server-wide, so ids are kept relative to the
  // first one this connection got: a run directly and one through the proxy
  // then read the same.
  let firstId = null;
  const relative = (id) => `first+${id - firstId}`;
  const record = async (label, fn) => {
    try {
      transcript.push({ step: label, ...outcome(await fn()) });
    } catch (err) {
      const message = String(err.message).replace(/handler \((\d+)\)/, (_, id) => `handler (${relative(Number(id))})`);
      transcript.push({ step: label, error: { errno: err.errno, sqlState: err.sqlState, message } });
    }
  };

  const stmts = [];
  for (let i = 0; i < 100; i++) {
    const s = await conn.prepare(statementText(i));
    stmts.push(s);
    if (firstId === null) firstId = s.statement.id;
    transcript.push({ step: `prepare ${i}`, id: relative(s.statement.id), params: s.statement.parameters.length,
      columns: s.statement.columns.length });
  }
  // A statement the server refuses at prepare time.
  await record('prepare missing table', () => conn.prepare('SELECT * FROM sl_no_such_table WHERE id = ?'));

  // Interleaved: three rounds over all 100, in a different order each time.
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 100; k++) {
      const i = (k * (round * 2 + 37) + round) % 100;
      await record(`round ${round} stmt ${i}`, () => stmts[i].execute(params(i, round)));
    }
  }
  // A string where a number goes: the server converts it (with a warning).
  await record('string for a number', () => stmts[0].execute(['not a number']));
  // An error at execute time, between executions of the same statement.
  const insert = await conn.prepare('INSERT INTO sl_transfers (id, state) VALUES (?, ?)');
  await record('insert 101', () => insert.execute([101, 'sent']));
  await record('insert duplicate', () => insert.execute([1, 'sent']));
  await record('insert 102', () => insert.execute([102, 'completed']));
  await insert.close();

  // Close the even ones; the odd ones are still there.
  for (let i = 0; i < 100; i += 2) await stmts[i].close();
  for (let i = 1; i < 100; i += 2) await record(`after close stmt ${i}`, () => stmts[i].execute(params(i, 3)));
  for (const i of [0, 2, 50, 98]) await record(`closed stmt ${i}`, () => stmts[i].execute(params(i, 3)));

  // COM_RESET_CONNECTION: statements and user variables are gone, the
  // session (user, database) stays.
  await record('set variable', () => conn.query('SET @sl_marker = 42'));
  await record('text prepare', () => conn.query("PREPARE sl_text FROM 'SELECT ? * 3 AS thrice'"));
  await record('text execute', () => conn.query('EXECUTE sl_text USING @sl_marker'));
  await conn.reset();
  for (const i of [1, 3, 51, 99]) await record(`after reset stmt ${i}`, () => stmts[i].execute(params(i, 4)));
  await record('text execute after reset', () => conn.query('EXECUTE sl_text USING @sl_marker'));
  await record('variable after reset', () => conn.query('SELECT @sl_marker AS marker, DATABASE() AS db'));

  // New statements after the reset (the server may hand out ids again).
  for (let i = 0; i < 8; i++) {
    const s = await conn.prepare(`${statementText(i)} /* after reset */`);
    transcript.push({ step: `prepare new ${i}`, id: relative(s.statement.id) });
    await record(`new stmt ${i}`, () => s.execute(params(i, 5)));
    await record(`new stmt ${i} again`, () => s.execute(params(i, 6)));
  }
  await record('text query', () => conn.query('SELECT COUNT(*) AS n FROM sl_transfers'));
  await conn.end();
  console.log(JSON.stringify(transcript));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
