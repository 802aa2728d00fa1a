/**
 * `npm run bench -- control [--seconds 6] [--rates 2400,5000,10000,20000,30000] [--only pglite|postgres|stats]`
 *
 * 1. The controller under load, on PGlite (on-disk, temp dir) and PostgreSQL (a scratch database created
 *    and dropped here; DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres names the server). The app
 *    (control module only, CONTROL_DECISION_INTERVAL=1, a manipulator on port 0) runs in this process;
 *    `telelab sensor` (8 instances, open model) runs in a child process at each total rate. Per rate:
 *    achieved rate, failed requests, late sends, outdated readings, decisions made vs aligned times in
 *    the run, the worst decision lag (made_at - t_k), and the CPU share of this server process (one core
 *    = 100 %; PostgreSQL's own processes are not included).
 * 2. Statistical quality of the decision rule (no server; decide() on simulated windows of normal
 *    integer payloads): false switches per decision on a stationary stream, and the delay in decisions
 *    until a step of one standard deviation switches the status up.
 * Prints tables; never asserts on time (machines are noisy).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import normal from '@stdlib/random-base-normal';
import { createApp, type TelelabApp } from '../src/app';
import { createControlModule } from '../src/modules/control';
import { startManipulator } from '../src/modules/control/cli/manipulator';
import type { SensorReport } from '../src/modules/control/cli/sensor';
import { decide } from '../src/modules/control/decider';
import type { ControlStatus, WindowStats } from '../src/modules/control/model';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import { mulberry32 } from '../src/stats/random';
import {
  cpuClock,
  type DbKind,
  dbKinds,
  fmt,
  listenOnLoopback,
  loadAverage,
  log,
  withScratchDb,
} from './_support';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rates: { type: 'string', default: '2400,5000,10000,20000,30000' },
    only: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const RATES = args.rates.split(',').map(Number);
const INSTANCES = 8;
const LAG_GOAL_MS = 50;
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `telelab sensor --json` in a child process; resolves with its report. */
function runSensorChild(target: string, totalRate: number, seconds: number): Promise<SensorReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'sensor',
        ...['--instances', String(INSTANCES), '--rps', String(totalRate / INSTANCES)],
        ...['--target', target, '--duration', String(seconds), '--seed', '7', '--json'],
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as SensorReport);
      } catch {
        reject(new Error(`sensor exited ${code} without a report: ${out.slice(0, 300)}`));
      }
    });
  });
}

interface LoadRow {
  rate: number;
  achieved: number;
  failed: number;
  late: number;
  maxSendLagMs: number;
  outdated: number;
  decisions: number;
  expected: number;
  maxLagMs: number;
  cpuPct: number;
  flushMs: number;
  rowsPerFlush: number;
  load: number;
  stored: number;
  responses: string;
}

function measureLoad(kind: DbKind): Promise<LoadRow[]> {
  return withScratchDb(kind, 'control', async (env) => {
    const manipulator = await startManipulator({ port: 0 });
    let app: TelelabApp | undefined;
    try {
      const config = loadConfig({
        LOG_LEVEL: 'warn',
        CONTROL_DECISION_INTERVAL: '1',
        MANIPULATOR_PORT: String(manipulator.port),
        ...env,
        DB_POOL_SIZE: '20', // PostgreSQL's pool; PGlite has none
      });
      app = await createApp({ config, logger: createLogger('warn'), modules: [createControlModule] });
      const base = await listenOnLoopback(app);
      log(`${kind}: ${base}; warming up`);
      await runSensorChild(base, 2400, 2);
      await sleep(1500);

      const rows: LoadRow[] = [];
      for (const rate of RATES) {
        log(`${kind}: ${rate}/s for ${SECONDS} s`);
        const counters = async () => {
          const res = await app!.http.inject({ method: 'GET', url: '/metrics' });
          const value = (sample: string) => {
            const line = res.body.split('\n').find((l) => l.startsWith(`${sample} `));
            return line ? Number(line.slice(sample.length + 1)) : 0;
          };
          return {
            accepted: value('telelab_control_readings_total{outcome="accepted"}'),
            outdated: value('telelab_control_readings_total{outcome="outdated"}'),
            flushSum: value('telelab_control_batch_flush_seconds_sum{ok="true"}'),
            flushes: value('telelab_control_batch_flush_seconds_count{ok="true"}'),
          };
        };
        const before = await counters();
        const sensor = runSensorChild(base, rate, SECONDS);
        // Measure from the first reading the server sees (the child's start-up is not load) for SECONDS.
        const seen = async () => {
          const c = await counters();
          return c.accepted + c.outdated > before.accepted + before.outdated;
        };
        while (!(await seen())) await sleep(10);
        const cpuUs = cpuClock();
        const t0 = Date.now();
        await sleep(SECONDS * 1000);
        const cpu = cpuUs();
        const t1 = Date.now();
        const during = await counters();
        const report = await sensor;
        const after = await counters();
        // Every aligned second while the sensors ran must have its decision.
        const from = Math.ceil(t0 / 1000) * 1000;
        const to = Math.floor(t1 / 1000) * 1000;
        const decisions = await app.db.query<{ decided_at: Date; made_at: Date }>(
          'SELECT decided_at, made_at FROM control.decisions WHERE decided_at >= $1 AND decided_at <= $2',
          [new Date(from).toISOString(), new Date(to).toISOString()],
        );
        const flushes = after.flushes - before.flushes;
        const accepted = after.accepted - before.accepted;
        rows.push({
          rate,
          achieved: report.achievedRps,
          failed: report.errors + report.httpErrors + report.unsent + report.abandoned,
          late: report.late,
          maxSendLagMs: report.maxLagMs,
          outdated: after.outdated - before.outdated,
          decisions: decisions.length,
          expected: (to - from) / 1000 + 1,
          maxLagMs: Math.max(0, ...decisions.map((d) => d.made_at.getTime() - d.decided_at.getTime())),
          cpuPct: (cpu / 1000 / (t1 - t0)) * 100,
          flushMs: flushes ? ((after.flushSum - before.flushSum) * 1000) / flushes : 0,
          rowsPerFlush: flushes ? accepted / flushes : 0,
          load: loadavg()[0]!,
          stored: (during.accepted - before.accepted) / ((t1 - t0) / 1000),
          responses: Object.entries({ ...report.statusCounts, ...report.errorCodes })
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
        });
        await sleep(1500);
      }
      return rows;
    } finally {
      await app?.close();
      await manipulator.close();
    }
  });
}

// ---- statistical quality ---------------------------------------------------------------------------

const MEAN = 100;
const STD = 10;

/** Window statistics of `n` integer payloads from N(mean, STD), as the SQL computes them. */
function sampleWindow(rand: (mu: number, sigma: number) => number, n: number, mean: number): WindowStats {
  let m = 0;
  let m2 = 0;
  for (let i = 1; i <= n; i++) {
    const x = Math.round(rand(mean, STD));
    const d = x - m;
    m += d / i;
    m2 += d * (x - m);
  }
  const epoch = new Date(0);
  return { n, mean: m, std: Math.sqrt(m2 / (n - 1)), start: epoch, end: epoch };
}

interface QualityRow {
  n: number;
  alpha: number;
  significant: number;
  switches: number;
  decisions: number;
  /** Share of step trials switched up at the 1st / 2nd decision after the step, or not by then. */
  at1: number;
  at2: number;
  missed: number;
  trials: number;
}

function quality(n: number, alpha: number, decisions: number, trials: number, seed: number): QualityRow {
  const rand = normal.factory({ seed });
  const uniform = mulberry32(seed);
  // Stationary stream: every p < alpha is a false alarm; a switch needs one in the "wrong" direction.
  let prev = sampleWindow(rand, n, MEAN);
  let status: ControlStatus = 'down';
  let significant = 0;
  let switches = 0;
  for (let k = 0; k < decisions; k++) {
    const curr = sampleWindow(rand, n, MEAN);
    const d = decide(prev, curr, status, { alpha });
    if (d.p !== null && d.p < alpha) significant++;
    if (d.changed) switches++;
    status = d.status;
    prev = curr;
  }
  // Step of +1 std at a uniformly random moment of a window: the window holding the step has the new mean
  // in its last fraction f of readings. After the step both windows are at the new level, so the rule
  // only sees the step in the first two decisions; later switches would be false alarms.
  const at = [0, 0, 0];
  for (let trial = 0; trial < trials; trial++) {
    const before = Math.round(n * (1 - uniform()));
    const stepWindow = mix(sampleWindow(rand, before, MEAN), sampleWindow(rand, n - before, MEAN + STD));
    const first = decide(sampleWindow(rand, n, MEAN), stepWindow, 'down', { alpha });
    const second = decide(stepWindow, sampleWindow(rand, n, MEAN + STD), first.status, { alpha });
    at[first.status === 'up' ? 0 : second.status === 'up' ? 1 : 2]!++;
  }
  return {
    n,
    alpha,
    significant: significant / decisions,
    switches: switches / decisions,
    decisions,
    at1: at[0]! / trials,
    at2: at[1]! / trials,
    missed: at[2]! / trials,
    trials,
  };
}

/** Pools two windows' statistics (Chan et al.), for a window that holds a step. */
function mix(a: WindowStats, b: WindowStats): WindowStats {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  const m2a = a.n > 1 ? a.std * a.std * (a.n - 1) : 0;
  const m2b = b.n > 1 ? b.std * b.std * (b.n - 1) : 0;
  const m2 = m2a + m2b + (delta * delta * a.n * b.n) / n;
  return { n, mean: a.mean + (delta * b.n) / n, std: Math.sqrt(m2 / (n - 1)), start: a.start, end: b.end };
}

// ---- run and print ---------------------------------------------------------------------------------

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
log(`load average at start: ${loadAverage()} (2 cores = 2.0 busy)`);

const kinds = dbKinds(args.only);
const load: Partial<Record<DbKind, LoadRow[]>> = {};
for (const kind of kinds) {
  try {
    load[kind] = await measureLoad(kind);
  } catch (e) {
    log(`${kind}: skipped: ${e instanceof Error ? e.message : String(e)}`);
  }
}

for (const [kind, rows] of Object.entries(load)) {
  console.log(
    `\ncontroller under load: ${kind}, ${INSTANCES} sensors, interval 1 s, ${SECONDS} s per rate (1 core = 100 %)`,
  );
  console.table(
    rows.map((r) => ({
      'target/s': fmt(r.rate),
      'achieved/s': fmt(r.achieved),
      'stored/s': fmt(r.stored),
      failed: r.failed,
      late: fmt(r.late),
      'max send lag ms': Math.round(r.maxSendLagMs),
      outdated: fmt(r.outdated),
      decisions: `${r.decisions}/${r.expected}`,
      'max lag ms': r.maxLagMs,
      'server CPU %': Math.round(r.cpuPct),
      'flush ms': r.flushMs.toFixed(1),
      'rows/flush': Math.round(r.rowsPerFlush),
      'load 1m': r.load.toFixed(1),
    })),
  );
  // The criterion: no failed request and every decision on time. Stricter: the sensor also kept
  // its schedule (readings it sends late, across a window boundary, are outdated and not processed).
  const onTime = (r: LoadRow) =>
    r.failed === 0 && r.decisions === r.expected && r.maxLagMs <= LAG_GOAL_MS && r.achieved >= r.rate * 0.98;
  const best = rows.filter(onTime).at(-1);
  const bestStrict = rows.filter((r) => onTime(r) && r.outdated <= r.rate * SECONDS * 0.02).at(-1);
  for (const r of rows.filter((x) => x.failed > 0))
    console.log(`${kind} ${fmt(r.rate)}/s responses: ${r.responses}`);
  const at2400 = rows.find((r) => r.rate === 2400);
  const rate = (r: LoadRow | undefined) => (r ? `${fmt(r.rate)}/s (stored ${fmt(r.stored)}/s)` : 'none');
  console.log(
    `${kind}: highest rate with no failed request and every decision within ${LAG_GOAL_MS} ms: ${rate(best)}; ` +
      `also under 2 % outdated: ${rate(bestStrict)}` +
      (at2400 ? `; server CPU at 8 x 300: ${Math.round(at2400.cpuPct)} % of one core` : ''),
  );
}

if (!args.only || args.only === 'stats') {
  log('decision quality: simulating');
  const rows = [
    quality(10, 0.05, 20_000, 5000, 11),
    quality(30, 0.05, 20_000, 5000, 12),
    quality(100, 0.05, 20_000, 5000, 13),
    quality(12_000, 0.05, 2000, 500, 14), // the task: 8 x 300 readings/s x 5 s
    quality(12_000, 0.01, 2000, 500, 15),
  ];
  console.log(
    `\ndecision quality (no server): payloads round(N(${MEAN}, ${STD})); step = +1 std at a random moment of a window`,
  );
  console.table(
    rows.map((r) => ({
      'readings/window': fmt(r.n),
      alpha: r.alpha,
      'p < alpha': pct(r.significant),
      'false switches/decision': pct(r.switches),
      decisions: fmt(r.decisions),
      'step: up at 1st decision': pct(r.at1),
      '2nd': pct(r.at2),
      'not by the 2nd': pct(r.missed),
      trials: r.trials,
    })),
  );
  console.log(
    'A switch needs p < alpha away from the current status: about alpha of the decisions on a stationary\n' +
      'stream are significant, and a bit over alpha / 2 switch (a false alarm is often undone at the next\n' +
      'decision, which compares with the same unusual window). 1st decision = the one at the end of the\n' +
      'window holding the step; the rule compares adjacent windows, so a step it misses twice is not seen.',
  );
}
