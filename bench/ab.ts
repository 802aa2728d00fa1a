/**
 * `npm run bench -- ab [--db pglite|postgres|both] [--seconds 10] [--connections 64] [--devices 5000]
 *   [--skip-new]`
 *
 * For each database, in one run: start the app in a child process (so the load generator does not share
 * its event loop) with the ab module and a no-database echo route, then with autocannon measure:
 *   - the echo route (reads Device-Token, answers a fixed body of the same shape),
 *   - returning devices: GET /api/v1/experiments for `--devices` tokens seen before (the answer cache),
 *   - new devices: GET /api/v1/experiments with a fresh token every request (records the device and its
 *     assignments; answered only after the batch commits: durable).
 * PGlite runs on a temp data dir; PostgreSQL on a scratch database on DATABASE_URL's server (or
 * postgres://postgres@127.0.0.1:5432/postgres). Prints a table; never asserts on time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { createApp } from '../src/app';
import { createAbModule } from '../src/modules/ab/index';
import { loadConfig } from '../src/platform/config';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    db: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    devices: { type: 'string', default: '5000' },
    'skip-new': { type: 'boolean', default: false },
  },
});

const ECHO_BODY = JSON.stringify([{ button_color: '#FF0000' }, { price: 10 }]);

// --- child: the app under test plus the echo route ---
async function serve(): Promise<void> {
  const app = await createApp({ config: loadConfig(process.env), role: 'api', modules: [createAbModule] });
  app.http.get('/bench/echo', { schema: { hide: true } }, async (req, reply) => {
    const token = req.headers['device-token'];
    if (typeof token !== 'string' || token === '') return reply.code(400).send();
    return reply
      .header('cache-control', 'private, max-age=300')
      .header('vary', 'Device-Token')
      .type('application/json; charset=utf-8')
      .send(ECHO_BODY);
  });
  // CPU time of this process, so the table can show server CPU per request: steadier than req/s on a
  // machine shared with the load generator (and anything else running).
  app.http.get('/bench/cpu', { schema: { hide: true } }, async () => process.cpuUsage());
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
interface AutocannonRequest {
  method: string;
  path?: string;
  setupRequest?: (r: { headers?: Record<string, string> }) => object;
}
// autocannon ships no types; this is the part of its programmatic API we use.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const DEVICES = Number(args.devices);

const withToken =
  (next: () => string) =>
  (r: { headers?: Record<string, string> }): object => ({
    ...r,
    headers: { ...r.headers, 'device-token': next() },
  });

async function serverCpuMicros(url: string): Promise<number> {
  const usage = (await (await fetch(`${url}/bench/cpu`)).json()) as { user: number; system: number };
  return usage.user + usage.system;
}

/** One autocannon run, with the server's CPU microseconds per answered request. */
async function cannon(url: string, path: string, token: () => string, seconds = SECONDS) {
  const cpu0 = await serverCpuMicros(url);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ method: 'GET', path, setupRequest: withToken(token) }],
  });
  const cpu = (await serverCpuMicros(url)) - cpu0;
  return { ...result, cpuPerRequest: cpu / Math.max(1, result.requests.total) };
}
type Run = Awaited<ReturnType<typeof cannon>>;

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

/** First requests for `tokens`, 32 at a time, so they are returning devices afterwards. */
async function seeDevices(url: string, tokens: string[]): Promise<void> {
  const pool = new Pool(url, { connections: 32 });
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++]!;
      const res = await pool.request({
        method: 'GET',
        path: '/api/v1/experiments',
        headers: { 'device-token': token },
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`first request answered ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await pool.close();
}

async function devicesRecorded(url: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/experiments/stats`);
  const stats = (await res.json()) as { experiments: { name: string; devices: number }[] };
  return stats.experiments.find((e) => e.name === 'button_color')?.devices ?? 0;
}

async function measure(kind: 'pglite' | 'postgres'): Promise<Record<string, string>> {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  if (kind === 'pglite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telelab-bench-ab-'));
    env = { DATA_DIR: dir };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const adminUrl = loadConfig(process.env).DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `telelab_bench_ab_${process.pid}`;
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
    server = await startServer(env);
    const { url } = server;
    process.stderr.write(`${kind}: first requests of ${DEVICES} devices\n`);
    const tokens = Array.from({ length: DEVICES }, () => randomUUID());
    await seeDevices(url, tokens);
    let i = 0;
    const returning = () => tokens[i++ % tokens.length]!;

    process.stderr.write('  warm-up, echo, returning devices\n');
    await cannon(url, '/api/v1/experiments', returning, 2);
    await cannon(url, '/bench/echo', returning, 2);
    const echo = await cannon(url, '/bench/echo', returning);
    const cached = await cannon(url, '/api/v1/experiments', returning);
    process.stderr.write('  new devices\n');
    const before = await devicesRecorded(url);
    const fresh = await cannon(
      url,
      '/api/v1/experiments',
      () => randomUUID(),
      args['skip-new'] ? 0.1 : SECONDS,
    );
    const recorded = (await devicesRecorded(url)) - before;
    const failures = [echo, cached, fresh].reduce((n, r) => n + r.non2xx + r.errors, 0);

    const n = (v: number) => v.toLocaleString('en', { maximumFractionDigits: 0 });
    const lat = (r: Run) => `${r.latency.p50} / ${r.latency.p99}`;
    const cpu = (r: Run) => `${r.cpuPerRequest.toFixed(0)} µs`;
    return {
      echo: n(echo.requests.average),
      echoCpu: cpu(echo),
      cachedCpu: cpu(cached),
      freshCpu: cpu(fresh),
      echoLatency: lat(echo),
      cached: n(cached.requests.average),
      cachedLatency: lat(cached),
      ratio: (cached.requests.average / echo.requests.average).toFixed(2),
      fresh: n(fresh.requests.average),
      freshLatency: lat(fresh),
      recorded: `${n(recorded)} of ${n(fresh.requests.total)} answered`,
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
  for (const kind of kinds) results[kind] = await measure(kind);
  const rows: [string, string, string][] = [
    ['echo GET (no database), req/s', '', 'echo'],
    ['echo GET latency p50 / p99, ms', '', 'echoLatency'],
    ['echo server CPU per request', '', 'echoCpu'],
    ['returning device GET (answer cache), req/s', '>= 20 000', 'cached'],
    ['returning device latency p50 / p99, ms', 'p99 < 5', 'cachedLatency'],
    ['returning device server CPU per request', '', 'cachedCpu'],
    ['returning / echo req/s', '', 'ratio'],
    ['new device (first request, answered after commit), req/s', '>= 3 000 (PostgreSQL)', 'fresh'],
    ['new device latency p50 / p99, ms', '', 'freshLatency'],
    ['new device server CPU per request (app process only)', '', 'freshCpu'],
    ['new devices recorded during that run (+ those in flight at the end)', '>= answered', 'recorded'],
    ['non-2xx or errors during the runs', '0', 'failures'],
  ];
  const header = ['measure', 'goal', ...kinds.map((k) => (k === 'pglite' ? 'PGlite' : 'PostgreSQL'))];
  const lines = [
    header,
    header.map(() => '---'),
    ...rows.map(([label, goal, key]) => [label, goal, ...kinds.map((k) => results[k]![key]!)]),
  ];
  console.log(
    `\nab benchmark: ${CONNECTIONS} connections, ${SECONDS} s per run, ${DEVICES} returning devices, ` +
      `${os.cpus().length} CPUs\n`,
  );
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

if (args.serve) await serve();
else await main();
