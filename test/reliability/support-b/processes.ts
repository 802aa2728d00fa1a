/**
 * Real `telelab` processes for the scale-out and soak tests: spawned through the CLI on free ports,
 * output kept for failure messages, and killed (SIGKILL) when the test file ends or the runner exits.
 * A scratch PostgreSQL database per test, dropped afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { configSpec } from '../../../src/platform/config';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const alive = new Set<Telelab>();
process.once('exit', () => {
  for (const p of alive) p.child.kill('SIGKILL');
});

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

/** The runner's environment without telelab's own variables (the runner's DATABASE_URL must not leak). */
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in configSpec)));
}

export class Telelab {
  readonly child: ChildProcess;
  output = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
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
    alive.add(this);
    const keep = (d: Buffer) => {
      this.output += d.toString();
      // Bounded: a chatty process must not grow the runner's memory without end.
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
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

  /** Waits for a line of output; fails with the output when the process exits or time runs out. */
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
      await sleep(50);
    }
  }

  /** Kills with `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<void> {
    if (this.exit) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** `telelab serve` (or `serve --api-only`) on a free port; resolves with its base URL once it listens. */
export async function startServer(
  name: string,
  env: Record<string, string>,
  opts: { apiOnly?: boolean } = {},
): Promise<{ proc: Telelab; url: string }> {
  const port = await freePort();
  const proc = new Telelab(name, ['serve', ...(opts.apiOnly ? ['--api-only'] : [])], {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  await proc.waitFor(/API and dashboard\s+http:\/\/\S+/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** `telelab worker`; resolves once it reports it started (it logs at info for that). */
export async function startWorker(name: string, env: Record<string, string>): Promise<Telelab> {
  const proc = new Telelab(name, ['worker'], { LOG_LEVEL: 'info', ...env });
  await proc.waitFor(/worker started/);
  return proc;
}

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

export async function killAll(): Promise<void> {
  await Promise.all([...alive].map((p) => p.kill('SIGKILL')));
}

/** A fresh, empty database on the server of `baseUrl`; `drop()` removes it (and its connections). */
export async function scratchDatabase(
  baseUrl: string,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `telelab_rb_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const a = new pg.Client({ connectionString: baseUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => a.end());
    },
  };
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
