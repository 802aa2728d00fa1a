/**
 * What the benchmarks share: scratch databases, child processes that announce `READY <url>`, autocannon's
 * API, result tables and a CPU clock. run.ts does not list this file (its name starts with `_`).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TelelabApp } from '../src/app';

/** The repository's root: the working directory for children that resolve its packages. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Progress goes to stderr, so stdout holds only the results. */
export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ---- scratch databases -----------------------------------------------------------------------------

export type DbKind = 'pglite' | 'postgres';
const DB_KINDS: readonly DbKind[] = ['pglite', 'postgres'];
const DB_LABELS: Record<DbKind, string> = { pglite: 'PGlite', postgres: 'PostgreSQL' };

/** The databases a `--db` / `--only` value asks for: both when unset or `both`, else the one it names. */
export function dbKinds(choice: string | undefined): DbKind[] {
  return DB_KINDS.filter((k) => !choice || choice === 'both' || choice === k);
}

/** The PostgreSQL server scratch databases are created on: DATABASE_URL, else the local default. */
export const POSTGRES_SERVER = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh directory under the system temp dir (a PGlite data dir, nginx's files) and its removal. */
export async function tempDir(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `telelab-bench-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs one statement on a short-lived connection to POSTGRES_SERVER; fails fast when it is down. */
async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_SERVER, connectionTimeoutMillis: 2000 });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A new, empty database on POSTGRES_SERVER, so a run neither sees nor leaves other data; and its drop. */
export async function scratchPostgres(label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `telelab_bench_${label}_${randomBytes(4).toString('hex')}`;
  // template0: template1 may be in use by another session (CREATE DATABASE would fail).
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE template0`);
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Runs `fn` with the environment that points the app at a scratch database of `kind` (DATA_DIR for PGlite
 * on disk, DATABASE_URL for PostgreSQL), and removes the database afterwards, whatever happens.
 */
export async function withScratchDb<T>(
  kind: DbKind,
  label: string,
  fn: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  const scratch =
    kind === 'pglite'
      ? await tempDir(label).then((t) => ({ env: { DATA_DIR: t.dir }, remove: t.remove }))
      : await scratchPostgres(label).then((p) => ({ env: { DATABASE_URL: p.url }, remove: p.drop }));
  try {
    return await fn(scratch.env);
  } finally {
    await scratch.remove();
  }
}

// ---- child processes -------------------------------------------------------------------------------

/** A process under test, in a child so the load generator does not share its event loop or CPU time. */
export interface Child {
  url: string;
  proc: ChildProcess;
}

/** Starts `node ...args` and waits for the `READY <url>` line it prints on stdout; stderr passes through. */
export function startChild(args: string[], options: SpawnOptions = {}): Promise<Child> {
  const proc = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (code: number | null) =>
      reject(new Error(`a child process exited (${code}) before printing READY <url>`));
    const onData = (chunk: Buffer) => {
      out += String(chunk);
      const ready = /READY (\S+)/.exec(out);
      if (!ready) return;
      // Later output is read and dropped: a full pipe would block the child, a closed one break it.
      proc.stdout!.off('data', onData);
      proc.off('exit', onExit);
      resolve({ url: ready[1]!, proc });
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', onExit);
    proc.once('error', reject);
  });
}

/** Runs `fn` against a child once it is ready, then stops the child (SIGTERM) and waits for it to exit. */
export async function withChild<T>(
  start: Child | Promise<Child>,
  fn: (child: Child) => Promise<T>,
): Promise<T> {
  const child = await start;
  try {
    return await fn(child);
  } finally {
    child.proc.kill('SIGTERM');
    if (child.proc.exitCode === null && child.proc.signalCode === null) await once(child.proc, 'exit');
  }
}

/**
 * Runs the benchmark `script` (its import.meta.url) again with `--serve`, on the database `env` names;
 * the child is expected to call serveApp.
 */
export function startAppChild(script: string, env: Record<string, string>): Promise<Child> {
  return startChild(['--import', 'tsx', fileURLToPath(script), '--serve'], {
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
}

/** The `--serve` side of startAppChild: listens, prints `READY <url>`, closes cleanly on SIGTERM. */
export async function serveApp(app: TelelabApp): Promise<void> {
  const url = await app.listen();
  process.stdout.write(`READY ${url}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** Starts an app built in this process on a free loopback port; its URL names 127.0.0.1, not localhost. */
export async function listenOnLoopback(app: TelelabApp): Promise<string> {
  return (await app.http.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
}

// ---- autocannon ------------------------------------------------------------------------------------

export interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  setupRequest?: (r: AutocannonRequest) => AutocannonRequest;
}
export interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: AutocannonRequest[];
}
export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number };
  duration: number;
  errors: number;
  non2xx: number;
  '2xx': number;
}
// autocannon ships no types; this is the part of its programmatic API the benchmarks use.
export const autocannon = createRequire(import.meta.url)('autocannon') as (
  opts: AutocannonOptions,
) => Promise<AutocannonResult>;

// ---- measuring and printing ------------------------------------------------------------------------

/**
 * Starts a clock of this process's CPU time (user + system); reading it gives the µs used since. Steadier
 * than wall time on a machine that other processes share.
 */
export function cpuClock(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
}

/** 1, 5 and 15 minute load averages, for a results header: other processes share the machine. */
export const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** A number with thousands separators and at most `digits` decimals; `-` when there is none. */
export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-';

/**
 * A markdown table with its columns padded to the widest cell, so it reads in a terminal as well as in an
 * issue; the columns numbered in `right` are right-aligned (numbers).
 */
export function markdownTable(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const cell = (c: string, i: number) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!));
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = widths.map((w, i) => `${'-'.repeat(w + 1)}${right.includes(i) ? ':' : '-'}`);
  return [line(header), `|${rule.join('|')}|`, ...rows.map(line)].join('\n');
}

/** One measure of a comparison: its label, its goal (or ''), and its cell from one database's results. */
export type Measure<R> = [label: string, goal: string, cell: (results: R) => string];

/** Measures down, databases across; a database without results (its run failed) shows n/a. */
export function comparisonTable<R>(
  kinds: DbKind[],
  results: Partial<Record<DbKind, R>>,
  measures: Measure<R>[],
): string {
  return markdownTable(
    ['measure', 'goal', ...kinds.map((k) => DB_LABELS[k])],
    measures.map(([label, goal, cell]) => [
      label,
      goal,
      ...kinds.map((k) => {
        const r = results[k];
        return r ? cell(r) : 'n/a';
      }),
    ]),
  );
}
