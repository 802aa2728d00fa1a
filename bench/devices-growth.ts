/**
 * `npm run bench -- devices-growth [--db pglite|postgres|both] [--sizes 10000,100000,1000000,10000000]
 *   [--seconds 8] [--samples 200] [--raw-budget-seconds 20] [--rounds 1] [--skip-ingest] [--skip-growth]
 *   [--base <rev>]`
 *
 * How aggregate latency grows with one device's history, and what the rollups cost ingest, in one run:
 *
 * 1. Ingest before/after: the code at git HEAD (exported with `git archive` into a temp dir, nothing in
 *    the work tree changes) and the working tree each serve on a fresh scratch database, in turn; each
 *    gets the devices benchmark's workloads unchanged: batch ingest over HTTP (10k rows/request, 4
 *    connections) and durable single POSTs vs the no-database echo route at 400 connections.
 *    `--rounds N` alternates HEAD and the working tree N times (a shared machine's load drifts);
 *    `--base <rev>` compares another commit instead of HEAD (e.g. the one before a change landed).
 * 2. Growth: one device per size (PostgreSQL up to 10M readings, PGlite up to 1M), one reading per second,
 *    bulk-loaded with generate_series SQL (around the insert path), its rollups and median index rebuilt
 *    in full (what the background indexer does), VACUUM.
 *    Then p50/p99 of GET /devices/{id}/data/all and of its last 30 days (in process, app.inject), side by
 *    side with the raw one-pass query (the oracle, rawForDevice) on the same database; the raw query gets
 *    at most --raw-budget-seconds per cell (at least 3 samples), since at 10M rows it takes seconds.
 *    Likewise GET /devices/{id}/series?buckets=24 (all time, what the dashboard's chart asks for) beside
 *    the series sorted in one statement (series.store's buckets: the path for small periods).
 * Scratch databases are dropped afterwards. Prints tables; never asserts on time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAggregatesStore } from '../src/modules/devices/aggregates.store';
import { createSeriesStore } from '../src/modules/devices/series.store';
import { openDb } from '../src/platform/db';
import { migrate, migrationSet } from '../src/platform/migrate';
import { cell, DAY, devicesApp, loadDevice, T0, timing } from './_devices';
import {
  type AutocannonRequest,
  autocannon,
  type DbKind,
  dbKinds,
  fmt,
  loadAverage,
  log,
  markdownTable,
  ROOT,
  startChild,
  withChild,
  withScratchDb,
} from './_support';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'both' },
    sizes: { type: 'string' },
    seconds: { type: 'string', default: '8' },
    samples: { type: 'string', default: '200' },
    'raw-budget-seconds': { type: 'string', default: '20' },
    'skip-ingest': { type: 'boolean', default: false },
    'skip-growth': { type: 'boolean', default: false },
    base: { type: 'string', default: 'HEAD' },
    rounds: { type: 'string', default: '1' },
  },
});
const SECONDS = Number(args.seconds);
const SAMPLES = Number(args.samples);
const RAW_BUDGET_MS = Number(args['raw-budget-seconds']) * 1000;
const DEFAULT_SIZES: Record<DbKind, number[]> = {
  postgres: [10_000, 100_000, 1_000_000, 10_000_000],
  pglite: [10_000, 100_000, 1_000_000],
};

// ---- 1. ingest at HEAD and in the working tree ----------------------------------------------------

/** The code at git `--base` (HEAD) in a temp dir (read-only git), with this tree's node_modules linked in. */
function exportHead(): { dir: string; remove: () => void } {
  const dir = join(os.tmpdir(), `telelab-devices-head-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync(
    'git',
    ['archive', args.base, 'bench', 'src', 'drizzle', 'package.json', 'tsconfig.json'],
    {
      cwd: ROOT,
      maxBuffer: 1 << 28,
    },
  );
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const reading = () =>
  JSON.stringify({ x: Math.random() * 20 - 10, y: Math.random() * 20 - 10, z: Math.random() });
const randomPost = (prefix: string): AutocannonRequest => ({
  method: 'POST',
  setupRequest: (r) => ({
    ...r,
    path: `${prefix}/${1 + Math.floor(Math.random() * 1000)}/data`,
    body: reading(),
  }),
});
const cannon = (url: string, requests: AutocannonRequest[], connections: number) =>
  autocannon({
    url,
    connections,
    duration: SECONDS,
    headers: { 'content-type': 'application/json' },
    requests,
  });

/** The devices benchmark's ingest workloads against bench/devices.ts --serve of the tree in `dir`. */
function ingest(kind: DbKind, dir: string) {
  return withScratchDb(kind, 'devgrowth', (env) =>
    withChild(
      startChild(['--import', 'tsx', join(dir, 'bench/devices.ts'), '--serve'], {
        cwd: dir,
        env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      }),
      async ({ url }) => {
        const batchBody = JSON.stringify(
          Array.from({ length: 10_000 }, (_, i) => ({
            device_id: String(1 + (i % 1000)),
            x: i,
            y: -i,
            z: 0.5,
          })),
        );
        const batch = await cannon(
          url,
          [{ method: 'POST', path: '/devices/data/batch', body: batchBody }],
          4,
        );
        const echo = await cannon(url, [randomPost('/bench/echo')], 400);
        const durable = await cannon(url, [randomPost('/devices')], 400);
        const failures = [batch, echo, durable].reduce((n, r) => n + r.non2xx + r.errors, 0);
        return {
          batch: batch.requests.average * 10_000,
          ratio: durable.requests.average / echo.requests.average,
          durable: durable.requests.average,
          echo: echo.requests.average,
          failures,
        };
      },
    ),
  );
}

// ---- 2. growth ------------------------------------------------------------------------------------

async function growth(kind: DbKind, sizes: number[]) {
  return withScratchDb(kind, 'devgrowth', async (env) => {
    const db = await openDb({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
    try {
      await migrate(db, [migrationSet('devices')]);
      for (const n of sizes) await loadDevice(db, `g${n}`, n);
      log('  vacuum analyze');
      const app = await devicesApp(db, env);
      const raw = createAggregatesStore(db);
      const sorted = createSeriesStore(db);
      const rows: string[][] = [];
      try {
        for (const n of sizes) {
          const id = `g${n}`;
          const lastTs = new Date(T0 + (n - 1) * 1000);
          const start = new Date(Math.max(T0, lastTs.getTime() - 30 * DAY));
          const get = (url: string) => async () => {
            const res = await app.http.inject({ method: 'GET', url });
            if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
          };
          log(`  ${id}: queries`);
          const periodUrl = `/devices/${id}/data?start_date=${start.toISOString()}&end_date=${lastTs.toISOString()}`;
          const allNew = await timing(get(`/devices/${id}/data/all`), SAMPLES, RAW_BUDGET_MS);
          const periodNew = await timing(get(periodUrl), SAMPLES, RAW_BUDGET_MS);
          const allRaw = await timing(
            () => raw.rawForDevice(id, { start: null, end: null }),
            SAMPLES,
            RAW_BUDGET_MS,
          );
          const periodRaw = await timing(
            () => raw.rawForDevice(id, { start, end: lastTs }),
            SAMPLES,
            RAW_BUDGET_MS,
          );
          const seriesNew = await timing(get(`/devices/${id}/series?buckets=24`), SAMPLES, RAW_BUDGET_MS);
          const seriesRaw = await timing(
            () => sorted.buckets(id, new Date(T0), lastTs, 24),
            SAMPLES,
            RAW_BUDGET_MS,
          );
          rows.push([
            fmt(n),
            fmt(Math.min(n, 30 * 86_400)),
            cell(allNew),
            cell(allRaw),
            cell(periodNew),
            cell(periodRaw),
            cell(seriesNew),
            cell(seriesRaw),
          ]);
        }
      } finally {
        await app.close();
      }
      return rows;
    } finally {
      await db.close().catch(() => {});
    }
  });
}

async function main(): Promise<void> {
  const kinds = dbKinds(args.db);
  const ingestRows: string[][] = [];
  if (!args['skip-ingest']) {
    const head = exportHead();
    try {
      for (const kind of kinds) {
        for (let round = 1; round <= Number(args.rounds); round++)
          for (const [label, dir] of [
            [args.base, head.dir],
            ['working tree', ROOT],
          ] as const) {
            log(`${kind}: ingest, ${label}, round ${round}`);
            const r = await ingest(kind, dir);
            ingestRows.push([
              kind,
              label,
              fmt(r.batch),
              `${fmt(r.durable)} / ${fmt(r.echo)} = ${r.ratio.toFixed(2)}`,
              String(r.failures),
            ]);
          }
      }
    } finally {
      head.remove();
    }
  }
  const growthTables: string[] = [];
  for (const kind of args['skip-growth'] ? [] : kinds) {
    const sizes = args.sizes ? args.sizes.split(',').map(Number) : DEFAULT_SIZES[kind];
    log(`${kind}: growth ${sizes.join(', ')}`);
    const rows = await growth(kind, sizes);
    growthTables.push(
      `${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}: GET latency p50 / p99, ms (in process)\n\n` +
        markdownTable(
          [
            'readings',
            'in last 30 days',
            'all-time: API (rollups + median index)',
            'all-time: raw query',
            '30 days: API (rollups + median index)',
            '30 days: raw query',
            'series of 24, all time: API',
            'series: sorted',
          ],
          rows,
          [0, 1],
        ),
    );
  }
  console.log(
    `\ndevices growth benchmark: ${os.cpus().length} CPUs, load average ${loadAverage()} at the end ` +
      '(other processes share the machine)\n',
  );
  if (ingestRows.length)
    console.log(
      `${markdownTable(
        [
          'database',
          'code',
          'batch ingest, rows/s (10k rows/request, 4 conns; goal PG >= 150 000)',
          'durable POST / echo req/s, 400 conns (goal PG >= 0.45)',
          'non-2xx',
        ],
        ingestRows,
        [2],
      )}\n`,
    );
  for (const t of growthTables) console.log(`${t}\n`);
}

await main();
