/**
 * `npm run bench -- devices [--db pglite|postgres|both] [--devices 1000] [--rows-per-device N]
 *   [--seconds 10] [--connections 64] [--max-load-seconds 900]`
 *
 * For each database, in one run: bulk-load devices x rows (big unnest inserts, no COPY) into a scratch
 * database (PGlite: a temp data dir; PostgreSQL: a scratch database on DATABASE_URL's server, or
 * postgres://postgres@127.0.0.1:5432/postgres), then start the app in a child process (so the load
 * generator does not share its event loop) and measure: one-hour window and all-time query latency,
 * durable single POSTs vs a no-database echo route on the same server, batch ingest over HTTP, and the
 * seed's Locust scenario (POST random devices / GET all-time) with autocannon. Prints a table; never
 * asserts on time. Default rows per device: 1 000 on PGlite (1M rows), 10 000 on PostgreSQL (10M).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Type } from 'typebox';
import { Pool } from 'undici';
import { createApp } from '../src/app';
import { ReadingBody, ReadingResponse, timestampField } from '../src/modules/devices/api.schemas';
import { createDevicesModule } from '../src/modules/devices/index';
import { createReadingsStore } from '../src/modules/devices/readings.store';
import { loadConfig } from '../src/platform/config';
import { type Db, openDb } from '../src/platform/db';
import { migrate, migrationSet } from '../src/platform/migrate';
import { quantile } from '../src/stats/descriptive';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    db: { type: 'string', default: 'both' },
    devices: { type: 'string', default: '1000' },
    'rows-per-device': { type: 'string' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    'max-load-seconds': { type: 'string', default: '900' },
  },
});

const T0 = Date.parse('2024-01-01T00:00:00Z');
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

// --- child: the app under test, plus an echo route that validates and answers like the real one ---
async function serve(): Promise<void> {
  const app = await createApp({
    config: loadConfig(process.env),
    role: 'serve',
    modules: [createDevicesModule],
  });
  app.http.post(
    '/bench/echo/:device_id/data',
    {
      schema: {
        hide: true,
        params: Type.Object({ device_id: Type.String() }),
        body: ReadingBody,
        response: { 201: ReadingResponse },
      },
    },
    async (req, reply) => {
      const ts = timestampField('body.ts', req.body.ts) ?? new Date();
      const { x, y, z } = req.body;
      const created = new Date().toISOString();
      return reply
        .code(201)
        .send({ id: 0, device_id: req.params.device_id, x, y, z, ts: ts.toISOString(), created_at: created });
    },
  );
  const url = await app.listen();
  process.stdout.write(`READY ${url}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

// --- parent ---
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type AutocannonRequest = {
  method: string;
  path?: string;
  body?: string;
  setupRequest?: (r: object) => object;
};
// autocannon ships no types; this is the part of its programmatic API we use.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

const DEVICES = Number(args.devices);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const randomDevice = () => String(1 + Math.floor(Math.random() * DEVICES));
const reading = () =>
  JSON.stringify({ x: Math.random() * 20 - 10, y: Math.random() * 20 - 10, z: Math.random() });

/** Inserts rows in time order across all devices (as live ingest would), `inFlight` statements at once. */
async function bulkLoad(db: Db, rowsPerDevice: number, maxSeconds: number) {
  const store = createReadingsStore(db);
  const minutesPerBatch = Math.max(1, Math.floor(20_000 / DEVICES));
  const inFlight = db.kind === 'postgres' ? 2 : 1;
  const pending = new Set<Promise<unknown>>();
  const t0 = performance.now();
  let rows = 0;
  let minute = 0;
  for (; minute < rowsPerDevice; minute += minutesPerBatch) {
    if ((performance.now() - t0) / 1000 > maxSeconds) break;
    const batch = [];
    for (let m = minute; m < Math.min(rowsPerDevice, minute + minutesPerBatch); m++) {
      const ts = new Date(T0 + m * MINUTE);
      for (let d = 1; d <= DEVICES; d++) {
        batch.push({ deviceId: String(d), ts, x: Math.random() * 20 - 10, y: Math.random() * 20 - 10, z: d });
      }
    }
    const p = store.insert(batch).then(() => {
      rows += batch.length;
      pending.delete(p);
    });
    pending.add(p);
    if (pending.size >= inFlight) await Promise.race(pending);
    if (minute % (minutesPerBatch * 25) === 0)
      process.stderr.write(`  loaded ${rows.toLocaleString('en')} rows\r`);
  }
  await Promise.all(pending);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(
    `  loaded ${rows.toLocaleString('en')} rows in ${seconds.toFixed(1)} s; vacuum analyze\n`,
  );
  const v0 = performance.now();
  // Sets the visibility map so aggregates are index-only scans (autovacuum does this in production),
  // then writes the load's dirty pages out now, not during the measurements.
  await db.exec('VACUUM ANALYZE devices.readings');
  await db.exec('CHECKPOINT');
  return {
    rows,
    seconds,
    minutesLoaded: Math.min(minute, rowsPerDevice),
    vacuumSeconds: (performance.now() - v0) / 1000,
  };
}

async function startServer(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of proc.stdout!) {
    out += String(chunk);
    const m = /READY (\S+)/.exec(out);
    if (m) return { url: m[1]!, proc };
  }
  throw new Error('the app did not start');
}

async function latencies(pool: Pool, paths: () => string, samples: number) {
  const once = async () => {
    const t = performance.now();
    const res = await pool.request({ method: 'GET', path: paths() });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET answered ${res.statusCode}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 50; i++) await once(); // warm-up
  const ms = new Float64Array(samples);
  for (let i = 0; i < samples; i++) ms[i] = await once();
  ms.sort();
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
}

/** Micro-batch flushes so far, from the app's /metrics: how many, their total seconds, rows stored. */
async function flushStats(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{ok="true"\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    flushes: metric('telelab_devices_batch_flush_seconds_count'),
    seconds: metric('telelab_devices_batch_flush_seconds_sum'),
    rows: metric('telelab_devices_readings_stored_total'),
  };
}

const cannon = (url: string, requests: AutocannonRequest[], connections = CONNECTIONS) =>
  autocannon({
    url,
    connections,
    duration: SECONDS,
    headers: { 'content-type': 'application/json' },
    requests,
  });

const randomPost = (prefix: string): AutocannonRequest => ({
  method: 'POST',
  setupRequest: (r) => ({ ...r, path: `${prefix}/${randomDevice()}/data`, body: reading() }),
});

async function measure(kind: 'pglite' | 'postgres', rowsPerDevice: number): Promise<Record<string, string>> {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  if (kind === 'pglite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telelab-bench-devices-'));
    env = { DATA_DIR: dir };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `telelab_bench_devices_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    env = { DATABASE_URL: u.toString() };
    cleanup = async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    };
  }
  let server: { url: string; proc: ChildProcess } | null = null;
  try {
    process.stderr.write(`${kind}: ${DEVICES} devices x ${rowsPerDevice} rows\n`);
    const db = await openDb({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
    await migrate(db, [migrationSet('devices')]);
    const load = await bulkLoad(db, rowsPerDevice, Number(args['max-load-seconds']));
    await db.close();

    server = await startServer(env);
    const url = server.url;
    const pool = new Pool(url, { connections: 1 });
    process.stderr.write('  queries\n');
    const lastWindowStart = Math.max(0, load.minutesLoaded - 60);
    const window = await latencies(
      pool,
      () => {
        const device = randomDevice();
        const start = T0 + Math.floor(Math.random() * lastWindowStart) * MINUTE;
        return `/devices/${device}/data?start_date=${iso(start)}&end_date=${iso(start + 60 * MINUTE)}`;
      },
      1000,
    );
    const allTime = await latencies(pool, () => `/devices/${randomDevice()}/data/all`, 300);
    await pool.close();

    process.stderr.write('  echo vs durable POST\n');
    const echo = await cannon(url, [randomPost('/bench/echo')]);
    const before = await flushStats(url);
    const durable = await cannon(url, [randomPost('/devices')]);
    const after = await flushStats(url);
    const flushes = after.flushes - before.flushes;
    process.stderr.write('  batch ingest\n');
    const batchBody = JSON.stringify(
      Array.from({ length: 10_000 }, (_, i) => ({
        device_id: String(1 + (i % DEVICES)),
        x: i,
        y: -i,
        z: 0.5,
      })),
    );
    const batch = await cannon(url, [{ method: 'POST', path: '/devices/data/batch', body: batchBody }], 4);
    process.stderr.write('  seed scenario (POST random device / GET all-time)\n');
    const mixed = await cannon(url, [
      randomPost('/devices'),
      { method: 'GET', setupRequest: (r) => ({ ...r, path: `/devices/${randomDevice()}/data/all` }) },
    ]);
    const failures = [echo, durable, batch, mixed].reduce((n, r) => n + r.non2xx + r.errors, 0);

    const n = (v: number, digits = 0) => v.toLocaleString('en', { maximumFractionDigits: digits });
    const ms = (v: number) => v.toFixed(2);
    return {
      rows: `${n(load.rows)}${load.minutesLoaded < rowsPerDevice ? ' (time cap hit)' : ''}`,
      load: `${n(load.rows / load.seconds)} rows/s (${n(load.seconds, 1)} s + vacuum ${n(load.vacuumSeconds, 1)} s)`,
      window: `${ms(window.p50)} / ${ms(window.p99)}`,
      allTime: `${ms(allTime.p50)} / ${ms(allTime.p99)} (${n(load.minutesLoaded)} rows)`,
      echo: n(echo.requests.average),
      durable: n(durable.requests.average),
      ratio: (durable.requests.average / echo.requests.average).toFixed(2),
      durableLatency: `${durable.latency.p50} / ${durable.latency.p99}`,
      flushes: `${n((after.rows - before.rows) / flushes, 1)} rows, ${n(((after.seconds - before.seconds) / flushes) * 1000, 2)} ms`,
      batch: n(batch.requests.average * 10_000),
      mixed: `${n(mixed.requests.average)} req/s, p50 ${mixed.latency.p50} ms, p99 ${mixed.latency.p99} ms`,
      failures: String(failures),
    };
  } finally {
    if (server) {
      server.proc.kill('SIGTERM');
      if (server.proc.exitCode === null) await once(server.proc, 'exit');
    }
    await cleanup();
  }
}

async function main(): Promise<void> {
  const kinds = args.db === 'both' ? (['pglite', 'postgres'] as const) : [args.db as 'pglite' | 'postgres'];
  const results: Record<string, Record<string, string>> = {};
  for (const kind of kinds) {
    const rows = Number(args['rows-per-device'] ?? (kind === 'pglite' ? 1000 : 10_000));
    results[kind] = await measure(kind, rows);
  }
  const rows: [string, string, string][] = [
    ['rows loaded', '', 'rows'],
    ['bulk load (unnest INSERT, 20k rows/statement)', '', 'load'],
    ['one-hour window GET p50 / p99, ms', 'p99 < 5', 'window'],
    ['all-time GET p50 / p99, ms (rows in device)', 'p99 < 20', 'allTime'],
    [`echo POST (no database), req/s, ${CONNECTIONS} conns`, '', 'echo'],
    ['durable single POST, req/s', '', 'durable'],
    ['durable / echo', '>= 0.5', 'ratio'],
    ['durable POST latency p50 / p99, ms', '', 'durableLatency'],
    ['durable POST: mean rows per micro-batch, mean commit time', '', 'flushes'],
    ['batch ingest over HTTP (10k rows/request, 4 conns), rows/s', '>= 150 000 (PostgreSQL)', 'batch'],
    ['seed scenario: POST random device / GET all-time', '', 'mixed'],
    ['non-2xx or errors during the runs', '0', 'failures'],
  ];
  const header = ['measure', 'goal', ...kinds.map((k) => (k === 'pglite' ? 'PGlite' : 'PostgreSQL'))];
  const lines = [
    header,
    header.map(() => '---'),
    ...rows.map(([label, goal, key]) => [label, goal, ...kinds.map((k) => results[k]![key]!)]),
  ];
  const loadAverage = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `\ndevices benchmark: ${DEVICES} devices, ${SECONDS} s per load run, ${os.cpus().length} CPUs, ` +
      `load average ${loadAverage} at the end (other processes share the machine)\n`,
  );
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

if (args.serve) await serve();
else await main();
