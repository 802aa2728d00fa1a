/**
 * `npm run bench -- writer [--seconds 4] [--callers 64] [--db all|pglite-memory|pglite-disk|postgres] [--json]`
 *
 * What the micro-batching writer buys: N concurrent callers, each awaiting its own durable row, written
 * (a) with one INSERT per row and (b) through the BatchWriter (platform defaults: 500 rows / 2 ms,
 * one flush at a time), next to (c) the raw rate of one `INSERT ... SELECT FROM unnest(...)` of 10k rows.
 * Databases: PGlite in memory, PGlite on disk (a temp data dir) and PostgreSQL (DATABASE_URL, or the
 * local default; a scratch database is created and dropped), all at their default durability
 * (synchronous_commit on). Prints one table; never asserts on time.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { BatchWriter } from '../src/platform/batch-writer';
import { configSpec } from '../src/platform/config';
import { type Db, openDb } from '../src/platform/db';
import { fmt, log, markdownTable, POSTGRES_SERVER, scratchPostgres, tempDir } from './_support';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    callers: { type: 'string', default: '64' },
    db: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const CALLERS = Number(args.callers);
const BULK_ROWS = 10_000;
const POOL_SIZE = configSpec.DB_POOL_SIZE.default;
const MAX_ROWS = configSpec.BATCH_MAX_ROWS.default;
const MAX_DELAY_MS = configSpec.BATCH_MAX_DELAY_MS.default;

/** Progress on stderr, unless --json asks for nothing but the results. */
const progress = (line: string) => {
  if (!args.json) log(line);
};

interface Reading {
  device: number;
  value: number;
  note: string;
}

const reading = (i: number): Reading => ({ device: i % 1000, value: i * 0.5, note: `reading ${i}` });

// A typical ingest row: a few columns, a server-side default, a bigserial id handed back to the caller.
const TABLE = `create table readings (
  id bigserial primary key,
  device int not null,
  value double precision not null,
  note text not null,
  created_at timestamptz not null default now()
)`;

const INSERT_ONE = 'insert into readings (device, value, note) values ($1, $2, $3) returning id';
const INSERT_MANY = `insert into readings (device, value, note)
  select * from unnest($1::int[], $2::float8[], $3::text[]) returning id`;
const columns = (rows: Reading[]) => [
  rows.map((r) => r.device),
  rows.map((r) => r.value),
  rows.map((r) => r.note),
];

async function freshTable(db: Db): Promise<void> {
  await db.exec(`drop table if exists readings; ${TABLE}`);
}

async function storedRows(db: Db): Promise<number> {
  const rows = await db.query<{ n: number }>('select count(*)::int as n from readings');
  return rows[0]!.n;
}

/** CALLERS callers, each writing one row at a time until the deadline; rows/s over the whole run. */
async function closedLoop(write: (r: Reading) => Promise<unknown>): Promise<{ rows: number; rate: number }> {
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < deadline) await write(reading(next++));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { rows: next, rate: next / seconds };
}

async function oneInsertPerRow(db: Db) {
  await freshTable(db);
  const r = await closedLoop((row) => db.query(INSERT_ONE, [row.device, row.value, row.note]));
  const stored = await storedRows(db);
  if (stored !== r.rows) throw new Error(`one-insert: ${r.rows} acknowledged, ${stored} stored`);
  return r;
}

async function batched(db: Db) {
  await freshTable(db);
  const batchSizes: number[] = [];
  const writer = new BatchWriter<Reading, number>({
    name: 'bench',
    maxRows: MAX_ROWS,
    maxDelayMs: MAX_DELAY_MS,
    onFlush: ({ rows }) => batchSizes.push(rows),
    flush: async (rows) => (await db.query<{ id: number }>(INSERT_MANY, columns(rows))).map((r) => r.id),
  });
  const r = await closedLoop((row) => writer.write(row));
  await writer.close();
  const stored = await storedRows(db);
  if (stored !== r.rows) throw new Error(`batched: ${r.rows} acknowledged, ${stored} stored`);
  return { ...r, meanBatch: r.rows / batchSizes.length };
}

/** One unnest INSERT of BULK_ROWS rows, repeated for about a second (at least 3 times). */
async function bulk(db: Db) {
  await freshTable(db);
  const rows = Array.from({ length: BULK_ROWS }, (_, i) => reading(i));
  const params = columns(rows);
  let statements = 0;
  let best = Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  while (statements < 3 || (performance.now() - t0 < 1000 && statements < 50)) {
    const s0 = performance.now();
    await db.query(INSERT_MANY, params);
    best = Math.min(best, performance.now() - s0);
    statements++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { rate: (statements * BULK_ROWS) / seconds, bestMs: best };
}

interface Result {
  database: string;
  oneInsert: number;
  batched: number;
  ratio: number;
  bulk: number;
  meanBatch: number;
  note: string;
}

async function measure(database: string, db: Db, where: string): Promise<Result> {
  const [sc] = await db.query<{ synchronous_commit: string }>('show synchronous_commit');
  const note = `${where}, synchronous_commit=${sc!.synchronous_commit}`;
  progress(`${database}: one INSERT per row, ${CALLERS} callers, ${SECONDS} s ...`);
  const one = await oneInsertPerRow(db);
  progress(
    `${database}: BatchWriter (${MAX_ROWS} rows / ${MAX_DELAY_MS} ms), ${CALLERS} callers, ${SECONDS} s ...`,
  );
  const many = await batched(db);
  progress(`${database}: bulk unnest INSERT of ${BULK_ROWS} rows ...`);
  const b = await bulk(db);
  return {
    database,
    oneInsert: one.rate,
    batched: many.rate,
    ratio: many.rate / one.rate,
    bulk: b.rate,
    meanBatch: many.meanBatch,
    note,
  };
}

async function pgliteMemory(): Promise<Result> {
  const db = await openDb({ memory: true });
  try {
    return await measure('PGlite (memory)', db, 'in memory: nothing is durable');
  } finally {
    await db.close();
  }
}

async function pgliteDisk(): Promise<Result> {
  const { dir, remove } = await tempDir('writer');
  try {
    progress('PGlite (disk): initialising a data directory ...');
    const db = await openDb({ dataDir: dir });
    try {
      return await measure('PGlite (disk)', db, `data dir in ${os.tmpdir()}`);
    } finally {
      await db.close();
    }
  } finally {
    await remove();
  }
}

async function postgres(): Promise<Result | string> {
  let scratch: Awaited<ReturnType<typeof scratchPostgres>>;
  try {
    scratch = await scratchPostgres('writer');
  } catch (e) {
    return `PostgreSQL skipped: no scratch database on ${new URL(POSTGRES_SERVER).host} (${(e as Error).message})`;
  }
  try {
    const db = await openDb({ databaseUrl: scratch.url, poolSize: POOL_SIZE });
    try {
      const [fs] = await db.query<{ fsync: string }>('show fsync');
      const [ver] = await db.query<{ server_version: string }>('show server_version');
      const name = `PostgreSQL ${ver!.server_version.split(' ')[0]}`;
      return await measure(name, db, `pool of ${POOL_SIZE}, fsync=${fs!.fsync}`);
    } finally {
      await db.close();
    }
  } finally {
    await scratch.drop().catch(() => {});
  }
}

function table(results: Result[]): string {
  const head = [
    'database',
    'one-insert rows/s',
    'batched rows/s',
    'ratio',
    'bulk rows/s',
    'mean batch',
    'notes',
  ];
  const rows = results.map((r) => [
    r.database,
    fmt(r.oneInsert),
    fmt(r.batched),
    `${r.ratio.toFixed(1)}x`,
    fmt(r.bulk),
    r.meanBatch.toFixed(0),
    r.note,
  ]);
  return markdownTable(head, rows, [1, 2, 3, 4, 5]);
}

const wanted = (name: string) => args.db === 'all' || args.db!.split(',').includes(name);
const results: Result[] = [];
const skipped: string[] = [];
if (wanted('pglite-memory')) results.push(await pgliteMemory());
if (wanted('pglite-disk')) results.push(await pgliteDisk());
if (wanted('postgres')) {
  const r = await postgres();
  if (typeof r === 'string') skipped.push(r);
  else results.push(r);
}

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ callers: CALLERS, seconds: SECONDS, results, skipped }, null, 2)}\n`,
  );
} else {
  process.stdout.write(
    `\nDurable writes from ${CALLERS} concurrent callers, each awaiting its own row (${SECONDS} s per phase, ` +
      `${os.cpus().length} CPUs); bulk = one unnest INSERT of ${fmt(BULK_ROWS)} rows.\n\n${table(results)}\n`,
  );
  for (const s of skipped) process.stdout.write(`${s}\n`);
}
