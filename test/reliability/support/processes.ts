/**
 * Real `telelab` processes for the reliability suite: spawned through the CLI on 127.0.0.1, output
 * kept for checks and failure messages, and killed (SIGKILL) when the test file ends (an afterAll
 * this module registers in every file that imports it) or, as a last resort, when the runner exits.
 * Also the small pieces around them: free ports, temp dirs, JSON requests, polling.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { configSpec } from '../../../src/platform/config';

/**
 * The checkout whose `bin/telelab.js` is run (it rebuilds that checkout's dist/ when its source changed). RELIABILITY_TELELAB_ROOT points the suite at another one
 * (e.g. a copy with a candidate fix) without touching this tree.
 */
const ROOT = process.env.RELIABILITY_TELELAB_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The runner's environment without telelab's own variables (the runner's DATABASE_URL must not leak),
 * nor a build chosen for another checkout (TELELAB_COMPILED_ENTRY: each process finds its ROOT's own).
 */
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !(k in configSpec) && k !== 'TELELAB_COMPILED_ENTRY'),
  );
}

const alive = new Set<Telelab>();
process.once('exit', () => {
  for (const p of alive) p.child.kill('SIGKILL');
});
afterAll(killAll);

/** Kills every process this file started that is still running. */
export async function killAll(): Promise<void> {
  await Promise.all([...alive].map((p) => p.kill('SIGKILL')));
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Bounded: a chatty process must not grow the runner's memory without end. */
const keepTail = (s: string) => (s.length > 200_000 ? s.slice(-100_000) : s);

/** One spawned `telelab` process (`node bin/telelab.js …`, the compiled CLI users run). */
export class Telelab {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** stdout and stderr as they arrived. */
  output = '';
  exit: Exit | null = null;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string> = {},
  ) {
    this.child = spawn(process.execPath, ['bin/telelab.js', ...args], {
      cwd: ROOT,
      env: { ...baseEnv(), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    alive.add(this);
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout = keepTail(this.stdout + d.toString());
      this.output = keepTail(this.output + d.toString());
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = keepTail(this.stderr + d.toString());
      this.output = keepTail(this.output + d.toString());
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        alive.delete(this);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Waits for a match in the output; fails with the output when the process exits or time runs out. */
  async waitFor(re: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (this.exit || Date.now() > deadline) {
        throw new Error(
          `${this.name}: ${this.exit ? `exited ${JSON.stringify(this.exit)}` : 'timed out'} waiting for ${re}\n${this.output.slice(-3000)}`,
        );
      }
      await sleep(25);
    }
  }

  /** Sends `signal`, then SIGKILL if the process has not exited within graceMs; resolves with how it ended. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 30_000): Promise<Exit> {
    if (!this.exit) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exit!;
  }

  /** A graceful stop: SIGTERM, SIGKILL after graceMs. */
  stop(graceMs = 15_000): Promise<Exit> {
    return this.kill('SIGTERM', graceMs);
  }
}

export interface Server {
  proc: Telelab;
  url: string;
}

/**
 * `telelab serve` (or `serve --api-only`) on a port of 127.0.0.1 the OS picks; resolves with its base
 * URL once it listens and /readyz answers 200.
 */
export async function startServer(
  name: string,
  env: Record<string, string>,
  opts: { apiOnly?: boolean } = {},
): Promise<Server> {
  const proc = new Telelab(name, ['serve', ...(opts.apiOnly ? ['--api-only'] : [])], {
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const m = await proc.waitFor(/API and dashboard\s+(http:\/\/\S+?)\/?\s/);
  const url = m[1]!.replace(/\/$/, '');
  await eventually(
    `${name} ready`,
    async () => ((await http(url, 'GET', '/readyz', { timeoutMs: 3000 })).status === 200 ? true : undefined),
    30_000,
  );
  return { proc, url };
}

/** `telelab worker`; resolves once it reports it started (it logs at info for that). */
export async function startWorker(name: string, env: Record<string, string>): Promise<Telelab> {
  const proc = new Telelab(name, ['worker'], { LOG_LEVEL: 'info', ...env });
  await proc.waitFor(/worker started/);
  return proc;
}

/** Runs a command to its end; fails with its output unless it exits 0. */
export async function runToCompletion(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<string> {
  const proc = new Telelab(name, args, env);
  await proc.exited;
  if (proc.exit?.code !== 0) throw new Error(`${name} exited ${JSON.stringify(proc.exit)}\n${proc.output}`);
  return proc.output;
}

/** A port nobody listens on right now (the OS picks it; a tiny race with other processes remains). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `telelab-rel-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs `fn` with a fresh temp dir (for DATA_DIRs, files the processes write); afterwards, whatever
 * happened, kills every process the file started (they may still write there) and removes the dir.
 */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const tmp = tempDir(prefix);
  try {
    return await fn(tmp.dir);
  } finally {
    await killAll();
    tmp.remove();
  }
}

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One JSON request with a deadline; the body is parsed when it is JSON. */
export async function http<T = unknown>(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer<T>> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T, text };
}

/** GET /api/data: every record id in the server's order. */
export async function allLogIds(url: string): Promise<string[]> {
  const r = await http<{ id: string }[]>(url, 'GET', '/api/data');
  if (r.status !== 200) throw new Error(`GET /api/data answered ${r.status}`);
  return r.body.map((rec) => rec.id);
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}

export const randomBetween = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
