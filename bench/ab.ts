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
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { createApp } from '../src/app';
import { createAbModule } from '../src/modules/ab/index';
import { loadConfig } from '../src/platform/config';
import {
  type AutocannonRequest,
  autocannon,
  comparisonTable,
  type DbKind,
  dbKinds,
  fmt,
  log,
  serveApp,
  startAppChild,
  withChild,
  withScratchDb,
} from './_support';

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
  await serveApp(app);
}

// --- parent ---
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const DEVICES = Number(args.devices);

const withToken =
  (next: () => string) =>
  (r: AutocannonRequest): AutocannonRequest => ({
    ...r,
    headers: { ...r.headers, 'device-token': next() },
  });

async function serverCpuMicros(url: string): Promise<number> {
  const usage = (await (await fetch(`${url}/bench/cpu`)).json()) as NodeJS.CpuUsage;
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

/** The table's cells for one database, in a scratch database of its own. */
function measure(kind: DbKind) {
  return withScratchDb(kind, 'ab', (env) =>
    withChild(startAppChild(import.meta.url, env), async ({ url }) => {
      log(`${kind}: first requests of ${DEVICES} devices`);
      const tokens = Array.from({ length: DEVICES }, () => randomUUID());
      await seeDevices(url, tokens);
      let i = 0;
      const returning = () => tokens[i++ % tokens.length]!;

      log('  warm-up, echo, returning devices');
      await cannon(url, '/api/v1/experiments', returning, 2);
      await cannon(url, '/bench/echo', returning, 2);
      const echo = await cannon(url, '/bench/echo', returning);
      const cached = await cannon(url, '/api/v1/experiments', returning);
      log('  new devices');
      const before = await devicesRecorded(url);
      const fresh = await cannon(
        url,
        '/api/v1/experiments',
        () => randomUUID(),
        args['skip-new'] ? 0.1 : SECONDS,
      );
      const recorded = (await devicesRecorded(url)) - before;
      const failures = [echo, cached, fresh].reduce((n, r) => n + r.non2xx + r.errors, 0);

      const lat = (r: Run) => `${r.latency.p50} / ${r.latency.p99}`;
      const cpu = (r: Run) => `${r.cpuPerRequest.toFixed(0)} µs`;
      return {
        echo: fmt(echo.requests.average),
        echoCpu: cpu(echo),
        cachedCpu: cpu(cached),
        freshCpu: cpu(fresh),
        echoLatency: lat(echo),
        cached: fmt(cached.requests.average),
        cachedLatency: lat(cached),
        ratio: (cached.requests.average / echo.requests.average).toFixed(2),
        fresh: fmt(fresh.requests.average),
        freshLatency: lat(fresh),
        recorded: `${fmt(recorded)} of ${fmt(fresh.requests.total)} answered`,
        failures: String(failures),
      };
    }),
  );
}

async function main(): Promise<void> {
  const kinds = dbKinds(args.db);
  const results: Partial<Record<DbKind, Awaited<ReturnType<typeof measure>>>> = {};
  for (const kind of kinds) results[kind] = await measure(kind);
  console.log(
    `\nab benchmark: ${CONNECTIONS} connections, ${SECONDS} s per run, ${DEVICES} returning devices, ` +
      `${os.cpus().length} CPUs\n`,
  );
  console.log(
    comparisonTable(kinds, results, [
      ['echo GET (no database), req/s', '', (r) => r.echo],
      ['echo GET latency p50 / p99, ms', '', (r) => r.echoLatency],
      ['echo server CPU per request', '', (r) => r.echoCpu],
      ['returning device GET (answer cache), req/s', '>= 20 000', (r) => r.cached],
      ['returning device latency p50 / p99, ms', 'p99 < 5', (r) => r.cachedLatency],
      ['returning device server CPU per request', '', (r) => r.cachedCpu],
      ['returning / echo req/s', '', (r) => r.ratio],
      ['new device (first request, answered after commit), req/s', '>= 3 000 (PostgreSQL)', (r) => r.fresh],
      ['new device latency p50 / p99, ms', '', (r) => r.freshLatency],
      ['new device server CPU per request (app process only)', '', (r) => r.freshCpu],
      [
        'new devices recorded during that run (+ those in flight at the end)',
        '>= answered',
        (r) => r.recorded,
      ],
      ['non-2xx or errors during the runs', '0', (r) => r.failures],
    ]),
  );
}

if (args.serve) await serve();
else await main();
