/**
 * Process-level helpers for the reliability suite: real `telelab` processes on 127.0.0.1, each
 * registered so a file's afterAll (and, as a last resort, this process's exit) kills what is left.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configSpec } from '../../src/platform/config';

export const MODE: 'short' | 'full' = process.env.RELIABILITY_MODE === 'full' ? 'full' : 'short';
export const full = MODE === 'full';

/**
 * The checkout whose `src/cli.ts` is run. RELIABILITY_TELELAB_ROOT points the suite at another one
 * (e.g. a copy with a candidate fix) without touching this tree.
 */
export const ROOT = process.env.RELIABILITY_TELELAB_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));

/** The runner's environment without any telelab variable (a DATABASE_URL of the CI run must not leak in). */
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in configSpec)));
}

const running = new Set<Proc>();
process.once('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});

/** One spawned `telelab` process with its output kept in memory. */
export class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...baseEnv(), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    this.child.stdout!.on('data', (d) => {
      this.stdout += d;
    });
    this.child.stderr!.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        running.delete(this);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** Waits until stdout matches; fails with the process's output if it exits or the time runs out. */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (!this.alive || Date.now() > deadline) {
        throw new Error(
          `${this.name}: ${this.alive ? 'timed out' : `exited (${this.exitCode ?? this.exitSignal})`} ` +
            `waiting for ${re}\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`,
        );
      }
      await sleep(25);
    }
  }

  /** kill -9, resolved once the process is gone. */
  async kill9(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within graceMs. Returns how it ended. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return { code: this.exitCode, signal: this.exitSignal };
  }
}

export function telelab(name: string, args: string[], env: Record<string, string> = {}): Proc {
  return new Proc(name, args, env);
}

/** Kills every process this file started that is still running (for afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill9()));
}

export interface Server {
  proc: Proc;
  url: string;
}

/** `telelab serve` on a free port of 127.0.0.1; resolves once it listens and /readyz answers 200. */
export async function startServe(name: string, env: Record<string, string>): Promise<Server> {
  const proc = telelab(name, ['serve'], { PORT: '0', HOST: '127.0.0.1', ...env });
  const m = await proc.waitFor(/API and dashboard\s+(http:\/\/\S+?)\/?\s/);
  const url = m[1]!.replace(/\/$/, '');
  await waitUntil(`${name} ready`, 30_000, async () => (await fetchStatus(`${url}/readyz`)) === 200);
  return { proc, url };
}

/** Status code of a GET, or 0 when no HTTP answer came. */
export async function fetchStatus(url: string, timeoutMs = 3000): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `telelab-rel-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const randomBetween = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/** GET /api/data: every record id in the server's order. */
export async function allLogIds(url: string): Promise<string[]> {
  const r = await fetch(`${url}/api/data`);
  if (r.status !== 200) throw new Error(`GET /api/data answered ${r.status}`);
  return ((await r.json()) as { id: string }[]).map((rec) => rec.id);
}

// ---- a private PostgreSQL instance (initdb into a temp dir, as the postgres user) ----

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  url: string;
  port: number;
  /** pg_ctl start/stop -m fast, waiting until done (asynchronously: the test's clients keep running). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT the server and its backends: a database that accepts TCP but never answers. */
  freeze(): void;
  thaw(): void;
  destroy(): void;
}

/** Why a private instance cannot be made here, or null when it can. */
export function privatePostgresUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root (initdb must run as the postgres user)';
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    return 'no postgres system user';
  }
  try {
    execFileSync(`${PG_BIN}/initdb`, ['--version'], { stdio: 'ignore' });
  } catch {
    return `no ${PG_BIN}/initdb`;
  }
  return null;
}

const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/${cmd}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });

/** Sends a signal to the postmaster of `data` and every process it started. */
function signalServer(data: string, signal: NodeJS.Signals): void {
  const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
    .toString()
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((pid) => pid > 0);
  for (const pid of [postmaster, ...children]) process.kill(pid, signal);
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const tmp = tempDir('pg');
  const data = path.join(tmp.dir, 'data');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chmodSync(tmp.dir, 0o755);
  chownSync(tmp.dir, uid, gid);
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const log = path.join(tmp.dir, 'server.log');
  const pgctl = async (...args: string[]) => {
    await promisify(execFile)(
      'runuser',
      ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', data, '-l', log, ...args],
      {
        timeout: 60_000,
      },
    );
  };
  const instance: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () =>
      pgctl('-w', '-t', '30', '-o', `-p ${port} -k ${tmp.dir} -c listen_addresses=127.0.0.1`, 'start'),
    stop: () => pgctl('-w', '-t', '30', '-m', 'fast', 'stop'),
    freeze: () => signalServer(data, 'SIGSTOP'),
    thaw: () => signalServer(data, 'SIGCONT'),
    destroy() {
      try {
        signalServer(data, 'SIGCONT');
      } catch {
        // not running
      }
      try {
        asPostgres('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', 'immediate', 'stop']);
      } catch {
        // not running
      }
      tmp.remove();
    },
  };
  await instance.start();
  return instance;
}
