/**
 * Phase 4 of `npm run bench -- load`: one experiment as 1 segment on 1 worker vs 2 segments on 2
 * workers, on PostgreSQL, in the same run: a scratch database, one API process and two `telelab
 * worker` processes, against nginx (it logs every request it answers, so the target's own count is
 * compared with what the experiment recorded), or latency-target in this process when nginx is missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLatencyTarget } from '../src/modules/latency/engine/target';
import { type Child, markdownTable, ROOT, scratchPostgres, tempDir } from './_support';

interface Proc {
  proc: ChildProcess;
  output: string;
}

/** `node --import tsx src/cli.ts ...args`; resolves once its output matches `ready`. */
async function telelab(args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { proc, output: '' };
  const found = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      p.output = (p.output + String(d)).slice(-20_000);
      if (ready.test(p.output)) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`telelab ${args[0]} exited ${code}:\n${p.output}`)));
  });
  await Promise.race([
    found,
    sleep(60_000).then(() => {
      throw new Error(`telelab ${args[0]} did not start:\n${p.output}`);
    }),
  ]);
  return p;
}

/** `telelab ...args` to its end; fails unless it exits 0. */
async function runToEnd(args: string[], env: Record<string, string>): Promise<void> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const [code] = await once(proc, 'exit');
  if (code !== 0) throw new Error(`telelab ${args.join(' ')} exited ${code}`);
}

async function stop(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGTERM');
  await Promise.race([once(p.proc, 'exit'), sleep(15_000).then(() => p.proc.kill('SIGKILL'))]);
}

interface Outcome {
  label: string;
  workers: number;
  requests: number;
  targetCounted: number;
  rps: number;
  p50: number;
  p99: number;
  /** Cores used by each group during the run: CPU seconds / wall seconds. */
  cores: Record<string, number>;
  /** CPU µs each group spent per request recorded in the same window. */
  perRequest: Record<string, number>;
}

async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * CPU accounting from /proc, to see who uses the 2 cores while an experiment runs: a process's
 * utime + stime (its threads included), and the machine's busy time (all but idle and iowait).
 */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, ppid 4, utime 14, stime 15.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // exited
  }
}

const cpuOf = (pid: number) => {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : 0;
};

const allPids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

const childrenOf = (ppid: number) => allPids().filter((pid) => Number(statFields(pid)?.[1]) === ppid);

const commOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** A backend of database `db`, or a process of the server itself (checkpointer, WAL writer, ...). */
function ownPostgres(pid: number, db: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(` ${db} `) || !/\(\d+\)|\[local\]/.test(cmd);
  } catch {
    return false;
  }
}

function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) / CLK_TCK;
}

/** Named groups of processes; `sample()` returns CPU seconds per group (and the machine's). */
function cpuGroups(groups: Record<string, () => number[]>) {
  return () => {
    const out: Record<string, number> = { machine: machineBusySeconds() };
    for (const [name, pids] of Object.entries(groups)) out[name] = pids().reduce((n, p) => n + cpuOf(p), 0);
    out.bench = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
    return out;
  };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);

export async function segmentsPhase(
  startNginx: (accessLog: string) => Promise<Child | null>,
  seconds: number,
  users: number,
): Promise<void> {
  console.log(
    `\n## 4. segments: one experiment, ${users} users for ${seconds} s against nginx, on PostgreSQL: ` +
      '1 segment on 1 worker vs 2 segments on 2 workers (same run, same processes)',
  );
  const logs = await tempDir('nginx-log');
  const accessLog = join(logs.dir, 'access.log');
  const nginx = await startNginx(accessLog);
  // Without nginx: latency-target in this process (idle while the workers load it), which counts.
  const node = nginx ? null : await startLatencyTarget({ port: 0 });
  const targetUrl = nginx?.url ?? node!.latencyUrl;
  const counted = () => (nginx ? lines(accessLog) : node!.served);
  console.log(
    nginx
      ? 'target: nginx, 1 worker; target-counted = lines of its access log'
      : 'target: node:http latency-target in the benchmark process (nginx not installed: ' +
          '`apt-get install -y nginx-light`); it shares the 2 cores with the workers and PostgreSQL',
  );
  let db: { url: string; drop: () => Promise<void> } | null = null;
  const procs: Proc[] = [];
  try {
    db = await scratchPostgres('segments');
    const env = { DATABASE_URL: db.url, LATENCY_ALLOWED_TARGETS: 'loopback', LATENCY_MAX_USERS: '10000' };
    await runToEnd(['migrate'], env);
    const server = await telelab(
      ['serve', '--api-only'],
      { ...env, PORT: '0', HOST: '127.0.0.1' },
      /API and dashboard\s+http:\/\/\S+/,
    );
    procs.push(server);
    const base = /API and dashboard\s+(http:\/\/\S+?)\/?\s/.exec(server.output)![1]!.replace(/\/$/, '');
    procs.push(
      await telelab(['worker'], env, /worker started/),
      await telelab(['worker'], env, /worker started/),
    );
    const target = new URL(targetUrl);
    const dbName = new URL(db.url).pathname.slice(1);
    const outcomes: Outcome[] = [];
    const [, worker1, worker2] = procs;
    const sample = cpuGroups({
      'worker 1': () => [worker1!.proc.pid!],
      'worker 2': () => [worker2!.proc.pid!],
      api: () => [server.proc.pid!],
      // nginx's master only supervises; its worker child answers.
      target: () => (nginx ? [nginx.proc.pid!, ...childrenOf(nginx.proc.pid!)] : []),
      // The scratch database's backends and the server's own processes (other databases' backends on
      // this shared server are someone else's work).
      postgres: () => allPids().filter((p) => commOf(p) === 'postgres' && ownPostgres(p, dbName)),
    });
    for (const segments of [1, 2]) {
      const before = counted();
      const { experiment_id: id } = await api<{ experiment_id: string }>(base, 'POST', '/create_experiment', {
        name: `bench-${segments}`,
        host: target.hostname,
        port: Number(target.port),
        load_profiles: [{ users, duration_seconds: seconds, interval_seconds: 0 }],
        segments,
      });
      await api(base, 'POST', `/manage_experiment?state=start&experiment_id=${id}`);
      type E = {
        id: string;
        finished_at: string | null;
        summary: { requests: number; rps: number; latency: { p50: number; p99: number } };
      };
      let e: E;
      // CPU is counted while load runs: from the first recorded second (after the segments' shared
      // start) to the last; the load's first second is left out of the count.
      let cpuBefore: Record<string, number> | null = null;
      let wallBefore = 0;
      let requestsBefore = 0;
      // Polled from the experiment list (one row each), not result_experiment: that merges every
      // recorded second of every segment, work the API process would do on the cores the load uses.
      for (;;) {
        e = (await api<E[]>(base, 'GET', '/list_experiments')).find((x) => x.id === id)!;
        if (e.finished_at) break;
        if (!cpuBefore && e.summary.requests > 0) {
          cpuBefore = sample();
          wallBefore = performance.now();
          requestsBefore = e.summary.requests;
        }
        await sleep(100);
      }
      const cpuAfter = sample();
      const wall = (performance.now() - wallBefore) / 1000;
      await sleep(300);
      const used = (k: string) => cpuAfter[k]! - cpuBefore![k]!;
      const recordedInWindow = e.summary.requests - requestsBefore;
      const r = await api<{ segments: { worker: string }[] }>(
        base,
        'GET',
        `/result_experiment?experiment_id=${id}&limit=0`,
      );
      outcomes.push({
        cores: Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, used(k) / wall])),
        perRequest: Object.fromEntries(
          Object.keys(cpuAfter).map((k) => [k, (used(k) / recordedInWindow) * 1e6]),
        ),
        label: segments === 1 ? '1 segment' : `${segments} segments`,
        workers: new Set(r.segments.map((s) => s.worker)).size,
        requests: e.summary.requests,
        targetCounted: counted() - before,
        rps: e.summary.rps,
        p50: e.summary.latency.p50,
        p99: e.summary.latency.p99,
      });
    }
    const one = outcomes[0]!;
    console.log(
      markdownTable(
        ['experiment', 'workers', 'req/s', 'p50 ms', 'p99 ms', 'recorded', 'target counted', 'vs 1 segment'],
        outcomes.map((o) => [
          o.label,
          String(o.workers),
          o.rps.toFixed(0),
          o.p50.toFixed(2),
          o.p99.toFixed(2),
          String(o.requests),
          String(o.targetCounted),
          `${(o.rps / one.rps).toFixed(2)}×`,
        ]),
        [1, 2, 3, 4, 5, 6, 7],
      ),
    );
    // Who used the cores while the load ran (from its first recorded second to its end).
    const groups = Object.keys(one.cores);
    console.log(
      `\nCPU during each run, in cores (CPU seconds / wall seconds; the machine has ${cpus().length}):`,
    );
    console.log(
      markdownTable(
        ['experiment', ...groups.map((g) => (g === 'machine' ? 'machine busy' : g)), 'other processes'],
        outcomes.map((o) => [
          o.label,
          ...groups.map((g) => o.cores[g]!.toFixed(2)),
          // Busy time that is none of this benchmark's: whoever else shares the machine.
          (o.cores.machine! - groups.reduce((n, g) => (g === 'machine' ? n : n + o.cores[g]!), 0)).toFixed(2),
        ]),
        groups.map((_, i) => i + 1).concat(groups.length + 1),
      ),
    );
    // Every request costs CPU in the worker that sends it, the target that answers it, and a little in
    // PostgreSQL and the API: on this machine no number of workers can send more than
    // cores / (that sum). The target shares the machine, so its cost per request is in the sum.
    const processes = groups.filter((g) => g !== 'machine');
    console.log('\nCPU µs per request recorded, in the same window:');
    console.log(
      markdownTable(
        ['experiment', ...processes, 'all processes'],
        outcomes.map((o) => [
          o.label,
          ...processes.map((g) => o.perRequest[g]!.toFixed(1)),
          processes.reduce((n, g) => n + o.perRequest[g]!, 0).toFixed(1),
        ]),
        processes.map((_, i) => i + 1).concat(processes.length + 1),
      ),
    );
    // Ceilings from the 1-segment run's CPU per request: one worker process can use one core; all the
    // processes together (workers, target, database, API) share the machine's cores.
    const perRequestAll = processes.reduce((n, g) => n + one.perRequest[g]!, 0);
    // Either worker may have claimed the one segment; the other one idled.
    const workerCost = one.perRequest['worker 1']! + one.perRequest['worker 2']!;
    const oneWorker = 1e6 / workerCost;
    const machine = (cpus().length * 1e6) / perRequestAll;
    console.log(
      `\nCeilings from the 1-segment run's CPU per request: one worker ≤ ${oneWorker.toFixed(0)} req/s ` +
        `(a core / ${workerCost.toFixed(1)} µs); every process on ${cpus().length} cores ≤ ` +
        `${machine.toFixed(0)} req/s (${cpus().length} cores / ${perRequestAll.toFixed(1)} µs). A run that ` +
        `saturates one worker saturates this machine too (${(machine / oneWorker).toFixed(2)}× of it is the ` +
        `most more workers could add then); the 1-segment run sent ${one.rps.toFixed(0)} req/s, ` +
        `${((one.rps / oneWorker) * 100).toFixed(0)} % of its worker's ceiling.`,
    );
  } finally {
    for (const p of procs.reverse()) await stop(p);
    if (nginx) {
      nginx.proc.kill('SIGTERM');
      if (nginx.proc.exitCode === null && nginx.proc.signalCode === null) await once(nginx.proc, 'exit');
    }
    await node?.close();
    await db?.drop();
    await logs.remove();
  }
}
