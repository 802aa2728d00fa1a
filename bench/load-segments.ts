/**
 * Phase 4 of `npm run bench -- load`: one experiment as 1 segment on 1 worker vs 2 segments on 2
 * workers, on PostgreSQL, in the same run: a scratch database, one API process and two `telelab
 * worker` processes, against nginx (it logs every request it answers, so the target's own count is
 * compared with what the experiment recorded), or latency-target in this process when nginx is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLatencyTarget } from '../src/modules/latency/target';
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
    const outcomes: Outcome[] = [];
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
      type R = {
        finished_at: string | null;
        summary: { requests: number; rps: number; latency: { p50: number; p99: number } };
        segments: { worker: string }[];
      };
      let r: R;
      for (;;) {
        r = await api<R>(base, 'GET', `/result_experiment?experiment_id=${id}&limit=0`);
        if (r.finished_at) break;
        await sleep(250);
      }
      await sleep(300);
      outcomes.push({
        label: segments === 1 ? '1 segment' : `${segments} segments`,
        workers: new Set(r.segments.map((s) => s.worker)).size,
        requests: r.summary.requests,
        targetCounted: counted() - before,
        rps: r.summary.rps,
        p50: r.summary.latency.p50,
        p99: r.summary.latency.p99,
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
