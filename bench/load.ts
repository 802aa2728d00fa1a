/**
 * `npm run bench -- load` (or `tsx bench/load.ts [--seconds 5] [--connections 10] [--segment-users 40]
 * [--only throughput|accuracy|co|segments]`).
 * Four phases, each against a target in another process (so the load generator does not share its
 * event loop):
 *   1. throughput: telelab engine vs autocannon vs wrk, same connections and duration, against nginx
 *      (one worker, answering from memory) when it is installed, else the node:http latency-target;
 *   2. accuracy: p50 against a 20 ms target, engine vs wrk (and autocannon);
 *   3. coordinated omission: a target that stalls 1 s; open-model corrected vs raw p99;
 *   4. segments: one experiment as 1 segment on 1 worker vs 2 segments on 2 workers (PostgreSQL, nginx),
 *      with the requests recorded vs those nginx logged (bench/load-segments.ts).
 * Prints tables; never asserts on time (machines are noisy).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { type LoadOptions, type LoadSummary, run } from '../src/modules/latency/engine';
import type { LatencyTargetOptions } from '../src/modules/latency/engine/target';
import {
  autocannon,
  type Child,
  cpuClock,
  markdownTable,
  ROOT,
  startChild,
  tempDir,
  withChild,
} from './_support';
import { segmentsPhase } from './load-segments';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    'segment-users': { type: 'string', default: '40' },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const TARGET_MODULE = fileURLToPath(new URL('../src/modules/latency/engine/target.ts', import.meta.url));

/** Starts `startLatencyTarget(opts)` in a child Node process; its URL is the target's /api/latency. */
function startChildTarget(opts: LatencyTargetOptions): Promise<Child> {
  const code =
    `const { startLatencyTarget } = await import(${JSON.stringify(TARGET_MODULE)});` +
    `const t = await startLatencyTarget(${JSON.stringify({ port: 0, ...opts })});` +
    `console.log('READY ' + t.latencyUrl);` +
    `process.on('SIGTERM', () => t.close().then(() => process.exit(0)));`;
  return startChild(['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT });
}

/** A free loopback port (nginx cannot listen on port 0 and report it). */
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

const NGINX = '/usr/sbin/nginx';

/**
 * nginx with one worker answering `/api/latency` like latency-target, from memory. A Node target
 * saturates its single core at about the rate a Node load generator reaches, so every client would
 * measure the target; nginx answers several times faster, so the clients' own cost decides.
 */
async function startNginxTarget(accessLog?: string): Promise<Child | null> {
  try {
    await promisify(execFile)(NGINX, ['-v']);
  } catch {
    return null;
  }
  const { dir, remove } = await tempDir('nginx');
  const port = await freePort();
  const conf = `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  ${accessLog ? `log_format n '$status'; access_log ${accessLog} n;` : 'access_log off;'} keepalive_requests 100000000; keepalive_timeout 65s;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    location = /api/latency { default_type application/json; return 200 '{"message":"pong"}'; }
  }
}`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/api/latency`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) {
        proc.once('exit', () => void remove());
        return { url, proc };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`nginx did not start (see ${dir}/error.log)`);
}

async function hasWrk(): Promise<boolean> {
  try {
    await promisify(execFile)('wrk', ['--version']);
    return true;
  } catch (e) {
    // `wrk --version` prints its banner and exits 1; only a missing binary is ENOENT.
    return (e as { code?: unknown }).code !== 'ENOENT';
  }
}

interface Measured {
  tool: string;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  requests?: number;
  /** Client CPU time per request, µs (in-process tools only). */
  cpuUsPerReq?: number;
  note?: string;
}

const toMs = (v: string, unit: string) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);

async function wrk(url: string, connections: number, seconds: number): Promise<Measured> {
  const { stdout } = await promisify(execFile)('wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    url,
  ]);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(stdout);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  return {
    tool: `wrk (-t1 -c${connections})`,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN),
    p50: pct('50'),
    p90: pct('90'),
    p99: pct('99'),
    errors: errs ? Number(errs[1]) : 0,
  };
}

async function cannon(
  url: string,
  connections: number,
  pipelining: number,
  seconds: number,
): Promise<Measured> {
  const r = await autocannon({ url, connections, pipelining, duration: seconds });
  return {
    tool: `autocannon (-c${connections} -p${pipelining})`,
    rps: r.requests.total / r.duration,
    requests: r.requests.total,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

async function engine(
  url: string,
  users: number,
  pipelining: number,
  seconds: number,
  extra: Partial<LoadOptions> = {},
): Promise<LoadSummary> {
  const { summary } = await run({
    target: { url },
    stages: [{ users, durationSeconds: seconds, intervalSeconds: 0 }],
    connections: Math.ceil(users / pipelining),
    pipelining,
    ...extra,
  });
  return summary;
}

const fromSummary = (tool: string, s: LoadSummary): Measured => ({
  tool,
  rps: s.rps,
  requests: s.requests,
  p50: s.latency.p50,
  p90: s.latency.p90,
  p99: s.latency.p99,
  errors: s.failures,
});

function table(rows: Measured[], extra?: (r: Measured) => string): void {
  const head = ['tool', 'req/s', 'cpu µs/req', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'note'];
  const body = rows.map((r) => [
    r.tool,
    r.rps.toFixed(0),
    r.cpuUsPerReq === undefined ? '-' : r.cpuUsPerReq.toFixed(1),
    r.p50.toFixed(3),
    r.p90.toFixed(3),
    r.p99.toFixed(3),
    String(r.errors),
    extra ? extra(r) : (r.note ?? ''),
  ]);
  console.log(markdownTable(head, body, [1, 2, 3, 4, 5, 6]));
}

/** Runs `fn` and adds the CPU time this process spent per request (for the in-process tools). */
async function withCpu(fn: () => Promise<Measured>): Promise<Measured> {
  const cpuUs = cpuClock();
  const m = await fn();
  return { ...m, cpuUsPerReq: cpuUs() / (m.requests ?? Number.NaN) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function throughput(wrkAvailable: boolean): Promise<void> {
  const p = 10;
  console.log(
    `\n## 1. throughput: fast target (no delay), ${CONNECTIONS} connections; median of ${ROUNDS} interleaved ` +
      `${Math.max(1, Math.round(SECONDS / ROUNDS))} s rounds per tool (the machine is shared and noisy)`,
  );
  const seconds = Math.max(1, Math.round(SECONDS / ROUNDS));
  const nginx = await startNginxTarget();
  console.log(
    nginx
      ? 'target: nginx, 1 worker (fast enough that the load generators, not the target, set the rate)'
      : 'target: node:http latency-target (nginx not installed: `apt-get install -y nginx-light`); every ' +
          'client will saturate the target, so the ratios say little',
  );
  await withChild(nginx ?? startChildTarget({}), async (target) => {
    // Warm up the target's JIT and sockets so that whoever runs first is not penalised.
    await engine(target.url, CONNECTIONS, 1, 1);
    const tools: [string, () => Promise<Measured>][] = [
      [
        `telelab engine (${CONNECTIONS} users)`,
        () => withCpu(async () => fromSummary('', await engine(target.url, CONNECTIONS, 1, seconds))),
      ],
      [`autocannon (-c${CONNECTIONS})`, () => withCpu(() => cannon(target.url, CONNECTIONS, 1, seconds))],
    ];
    if (wrkAvailable) tools.push([`wrk (-t1 -c${CONNECTIONS})`, () => wrk(target.url, CONNECTIONS, seconds)]);
    tools.push(
      [
        `telelab engine (${CONNECTIONS * p} users, -p${p})`,
        () => withCpu(async () => fromSummary('', await engine(target.url, CONNECTIONS * p, p, seconds))),
      ],
      [
        `autocannon (-c${CONNECTIONS} -p${p})`,
        () => withCpu(() => cannon(target.url, CONNECTIONS, p, seconds)),
      ],
    );
    const runs = new Map<string, Measured[]>(tools.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of tools) runs.get(name)!.push(await fn());
    }
    const rows = tools.map(([name]) => {
      const ms = runs.get(name)!;
      const pick = ms.find((m) => m.rps === median(ms.map((x) => x.rps)))!;
      return {
        ...pick,
        tool: name,
        rps: pick.rps,
        note: `rounds: ${ms.map((m) => m.rps.toFixed(0)).join(' / ')}`,
      };
    });
    const ratio = (a: number, b: number) => `engine/autocannon = ${(rows[a]!.rps / rows[b]!.rps).toFixed(2)}`;
    const ac = rows.findIndex((r) => r.tool.startsWith('autocannon'));
    rows[0]!.note += `; ${ratio(0, ac)}`;
    rows[rows.length - 2]!.note += `; ${ratio(rows.length - 2, rows.length - 1)}`;
    table(rows);
    if (!wrkAvailable) console.log('(wrk not installed: `apt-get install -y wrk` to add it)');
  });
}

async function accuracy(wrkAvailable: boolean): Promise<void> {
  console.log(`\n## 2. accuracy: target with a 20 ms delay, ${CONNECTIONS} connections, ${SECONDS} s each`);
  await withChild(startChildTarget({ delayMs: 20 }), async (target) => {
    await engine(target.url, CONNECTIONS, 1, 1);
    const e = fromSummary('telelab engine', await engine(target.url, CONNECTIONS, 1, SECONDS));
    const rows = [e, await cannon(target.url, CONNECTIONS, 1, SECONDS)];
    if (wrkAvailable) rows.push(await wrk(target.url, CONNECTIONS, SECONDS));
    const w = rows.find((r) => r.tool.startsWith('wrk'));
    table(rows, (r) => (w ? `p50 - wrk p50 = ${(r.p50 - w.p50).toFixed(3)} ms` : ''));
  });
}

async function coordinatedOmission(wrkAvailable: boolean): Promise<void> {
  const rate = 200;
  console.log(
    `\n## 3. coordinated omission: one answer stalls 1 s after 2 s of service; ${rate} req/s, 1 in flight, ${SECONDS} s`,
  );
  await withChild(startChildTarget({ stallEveryMs: 2000, stallMs: 1000 }), async (target) => {
    const s = (
      await run({
        target: { url: target.url },
        model: 'arrival-rate',
        maxInFlight: 1,
        stages: [{ users: rate, durationSeconds: SECONDS, intervalSeconds: 1 }],
      })
    ).summary;
    const rows: Measured[] = [
      {
        ...fromSummary('engine open model, corrected (from schedule)', s),
        note: `late ${s.late}, dropped ${s.dropped}`,
      },
      {
        tool: 'engine open model, raw (from send)',
        rps: s.rps,
        p50: s.rawLatency!.p50,
        p90: s.rawLatency!.p90,
        p99: s.rawLatency!.p99,
        errors: s.failures,
      },
    ];
    // Closed-loop tools with one connection send nothing during the stall, so it is a single sample.
    rows.push({ ...(await cannon(target.url, 1, 1, SECONDS)), note: 'closed loop, uncorrected' });
    if (wrkAvailable) {
      const w = await wrk(target.url, 1, SECONDS);
      rows.push({
        ...w,
        note: 'closed loop, corrected afterwards from the mean interval (wrk stats_correct)',
      });
    }
    table(rows);
  });
}

const wrkAvailable = await hasWrk();
console.log(
  `# load engine benchmark — node ${process.version}, ${cpus().length} CPUs, target in a child process`,
);
const segments = () => segmentsPhase(startNginxTarget, SECONDS, Number(args['segment-users']));
const phases = { throughput, accuracy, co: coordinatedOmission, segments };
for (const [name, phase] of Object.entries(phases))
  if (!args.only || args.only === name) await phase(wrkAvailable);
