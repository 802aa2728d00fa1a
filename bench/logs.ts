/**
 * `npm run bench -- logs [--seconds 5] [--connections 400] [--pipelining 1] [--batch-connections 4] [--rows 200000]
 *   [--only pglite|postgres]`
 *
 * The logs module's numbers from issue 3, on PGlite (on-disk, temp dir) and PostgreSQL (a scratch database
 * created and dropped here; DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres names the server):
 *   1. durable single-line POST /api/data req/s vs a no-database echo route on the same server (ratio);
 *   2. batch ingest: POST /api/data/batch with 5000-line bodies, lines/s;
 *   3. GET /api/data?id=<random>&limit=1000 over a table of --rows records: p50/p99.
 * The app runs in this process (only the logs module + the echo route); autocannon fires from a worker
 * thread so the two do not share one event loop. Prints a table; never asserts on time.
 * Tunables: BATCH_MAX_ROWS (default here 2000), BATCH_MAX_DELAY_MS, BATCH_MAX_QUEUE, DB_POOL_SIZE from the
 * environment. Also printed: server CPU per operation (this process, and the PostgreSQL backends when the
 * server is local), which says what an idle machine could do when other processes share the CPUs.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createApp, type TelelabApp } from '../src/app';
import { createLogsModule } from '../src/modules/logs';
import { generateLogLine } from '../src/modules/logs/log-traffic';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import type { ModuleFactory } from '../src/platform/module';
import {
  type AutocannonOptions,
  type AutocannonResult,
  comparisonTable,
  cpuClock,
  type DbKind,
  dbKinds,
  fmt,
  listenOnLoopback,
  loadAverage,
  log,
  type Measure,
  ROOT,
  withScratchDb,
} from './_support';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '400' },
    pipelining: { type: 'string', default: '1' },
    'batch-connections': { type: 'string', default: '4' },
    rows: { type: 'string', default: '200000' },
    only: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const PIPELINING = Number(args.pipelining);
const BATCH_CONNECTIONS = Number(args['batch-connections']);
const ROWS = Number(args.rows);
const BATCH_LINES = 5000;
const PAGE = 1000;
const TUNABLES = ['BATCH_MAX_ROWS', 'BATCH_MAX_DELAY_MS', 'BATCH_MAX_QUEUE', 'DB_POOL_SIZE'] as const;

/** What the child below reports of autocannon's result. */
type CannonResult = Pick<AutocannonResult, 'latency' | 'duration' | 'errors' | 'non2xx' | '2xx'>;

/**
 * autocannon's programmatic API, run in a child process: the load generator neither shares the server's
 * event loop nor shows up in the server's CPU time below.
 */
async function autocannon(o: AutocannonOptions): Promise<CannonResult> {
  const code = `
    const autocannon = (await import('node:module')).createRequire(process.cwd() + '/')('autocannon');
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    const r = await autocannon(JSON.parse(input));
    process.stdout.write(JSON.stringify({ latency: r.latency, duration: r.duration, errors: r.errors,
      non2xx: r.non2xx, '2xx': r['2xx'] }));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(o));
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const [exitCode] = (await once(child, 'close')) as [number];
  if (exitCode !== 0) throw new Error(`autocannon exited with ${exitCode}`);
  return JSON.parse(out) as CannonResult;
}

/** The same server's no-database baseline: parse the JSON body, answer 201 with a small JSON. */
const echoModule: ModuleFactory = () => ({
  name: 'bench-echo',
  routes: (app) => {
    app.post('/bench/echo', { schema: { hide: true } }, async (req, reply) =>
      reply.code(201).send({ id: '00000000-0000-4000-8000-000000000000', echo: req.body }),
    );
  },
});

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
  /** Server CPU per 2xx response, µs: this Node process (with PGlite in it), and the PostgreSQL backends. */
  nodeUs: number;
  pgUs: number;
}

const TICK_US = 1e6 / 100; // USER_HZ

/** CPU time of each PostgreSQL backend serving this database, by pid (a local server only; else empty). */
async function pgCpu(app: TelelabApp): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (app.db.kind !== 'postgres') return out;
  const pids = await app.db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  for (const { pid } of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_US);
    } catch {
      // not on this machine, or gone
    }
  }
  return out;
}

/** CPU the backends alive at the end used since `before` (the pool may have replaced some). */
function pgCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let us = 0;
  for (const [pid, t] of after) us += t - (before.get(pid) ?? 0);
  return us;
}

async function fire(app: TelelabApp, url: string, o: Omit<AutocannonOptions, 'url' | 'duration'>) {
  const cpuUs = cpuClock();
  const pg0 = await pgCpu(app);
  const r = await autocannon({ url, duration: SECONDS, ...o });
  const nodeUs = cpuUs();
  const pgUs = pgCpuSince(pg0, await pgCpu(app));
  const ok = r['2xx'];
  return {
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    bad: r.errors + r.non2xx,
    nodeUs: ok ? nodeUs / ok : Number.NaN,
    pgUs: ok ? Math.max(0, pgUs) / ok : Number.NaN,
  } satisfies Measured;
}

const json = { 'content-type': 'application/json' };
const lines = (n: number) => Array.from({ length: n }, () => ({ log: generateLogLine() }));

interface DbResults {
  echo: Measured;
  post: Measured;
  batch: Measured;
  get1: Measured;
  get8: Measured;
  rows: number;
}

async function seed(base: string, total: number): Promise<void> {
  const body = JSON.stringify(lines(BATCH_LINES));
  for (let n = 0; n < total; n += BATCH_LINES) {
    const res = await fetch(`${base}/api/data/batch`, { method: 'POST', headers: json, body });
    if (res.status !== 201) throw new Error(`seeding: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
}

async function measure(kind: DbKind): Promise<DbResults> {
  const tuned = Object.fromEntries(TUNABLES.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  return withScratchDb(kind, 'logs', async (env) => {
    let app: TelelabApp | undefined;
    try {
      // With one flush in flight, a flush carries about as many rows as there are requests waiting:
      // 2000-row batches for 400 connections (500 caps it at 500 and costs ~15 % on PostgreSQL here).
      const config = loadConfig({
        LOG_LEVEL: 'silent',
        BODY_LIMIT_BYTES: String(64 << 20),
        BATCH_MAX_ROWS: '2000',
        ...env,
        DB_POOL_SIZE: '20', // PostgreSQL only
        ...tuned,
      });
      app = await createApp({
        config,
        role: 'api',
        logger: createLogger('silent'),
        modules: [createLogsModule, echoModule],
      });
      const base = await listenOnLoopback(app);
      log(`${kind}: ${base}, batch writer ${config.BATCH_MAX_ROWS} rows / ${config.BATCH_MAX_DELAY_MS} ms`);

      // 3 first, on exactly --rows records.
      await seed(base, ROWS);
      const ids = (await app.db.query<{ id: string }>('SELECT id FROM logs.entries ORDER BY seq')).map(
        (r) => r.id,
      );
      const starts = Array.from({ length: 200 }, () => ids[Math.floor(Math.random() * (ids.length - PAGE))]!);
      const pages = starts.map((id) => ({ method: 'GET', path: `/api/data?id=${id}&limit=${PAGE}` }));
      const check = await (await fetch(`${base}${pages[0]!.path}`)).json();
      if (!Array.isArray(check) || check.length !== PAGE) throw new Error(`a page is not ${PAGE} records`);
      log(`${kind}: ${ids.length} rows; GET pages`);
      const get1 = await fire(app, base, { connections: 1, requests: pages });
      const get8 = await fire(app, base, { connections: 8, requests: pages });

      // 1: echo, then the durable route, same load.
      const one = JSON.stringify({ log: '192.168.0.1 GET /index.html?q=1 200' });
      const load = {
        connections: CONNECTIONS,
        pipelining: PIPELINING,
        method: 'POST',
        headers: json,
        body: one,
      };
      log(`${kind}: echo`);
      const echo = await fire(app, `${base}/bench/echo`, load);
      log(`${kind}: POST /api/data`);
      const post = await fire(app, `${base}/api/data`, load);

      // 2: 5000-line batches.
      log(`${kind}: batches`);
      const batchBody = JSON.stringify(lines(BATCH_LINES));
      const batch = await fire(app, `${base}/api/data/batch`, {
        connections: BATCH_CONNECTIONS,
        method: 'POST',
        headers: json,
        body: batchBody,
      });
      batch.rps *= BATCH_LINES;
      batch.nodeUs /= BATCH_LINES;
      batch.pgUs /= BATCH_LINES;
      return { echo, post, batch, get1, get8, rows: ids.length };
    } finally {
      await app?.close();
    }
  });
}

const cpu = (m: Measured) => `${fmt(m.nodeUs)} + ${fmt(m.pgUs)}`;
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} ms` : '-');

const kinds = dbKinds(args.only);
const results: Partial<Record<DbKind, DbResults>> = {};
for (const kind of kinds) {
  try {
    results[kind] = await measure(kind);
  } catch (e) {
    log(`${kind}: failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const rows: Measure<DbResults>[] = [
  ['echo POST /bench/echo req/s', '', (r) => fmt(r.echo.rps)],
  [
    'durable POST /api/data req/s',
    '>= 10,000 (PostgreSQL)',
    (r) => `${fmt(r.post.rps)}${r.post.bad ? ` (${fmt(r.post.bad)} non-2xx)` : ''}`,
  ],
  ['  ratio to echo', '>= 0.5', (r) => (r.post.rps / r.echo.rps).toFixed(2)],
  ['  POST p50 / p99', '', (r) => `${ms(r.post.p50)} / ${ms(r.post.p99)}`],
  ['  server CPU µs per echo: node + pg', '', (r) => cpu(r.echo)],
  ['  server CPU µs per POST: node + pg', '', (r) => cpu(r.post)],
  [
    `batch ingest lines/s (${BATCH_LINES}-line bodies, c=${BATCH_CONNECTIONS})`,
    '>= 100,000',
    (r) => `${fmt(r.batch.rps)}${r.batch.bad ? ` (${fmt(r.batch.bad)} non-2xx)` : ''}`,
  ],
  ['  server CPU µs per batch line: node + pg', '', (r) => cpu(r.batch)],
  [`GET ?id= page of ${PAGE}, c=1: p50 / p99`, 'p99 < 20 ms', (r) => `${ms(r.get1.p50)} / ${ms(r.get1.p99)}`],
  ['  pages/s at c=1', '', (r) => fmt(r.get1.rps)],
  [`GET ?id= page of ${PAGE}, c=8: p50 / p99`, '', (r) => `${ms(r.get8.p50)} / ${ms(r.get8.p99)}`],
  ['  pages/s at c=8', '', (r) => fmt(r.get8.rps)],
  ['  server CPU µs per page: node + pg', '', (r) => cpu(r.get8)],
  ['table rows for the GET runs', '', (r) => fmt(r.rows)],
];
console.log(
  `\nlogs bench: ${SECONDS} s per run, POST c=${CONNECTIONS} p=${PIPELINING}, ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}, load average ${loadAverage()}`,
);
console.log(comparisonTable(kinds, results, rows));

// A database that could not be measured is a broken benchmark, not a result.
if (kinds.some((k) => !results[k])) process.exitCode = 1;
