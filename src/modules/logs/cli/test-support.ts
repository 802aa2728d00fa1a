/** Helpers shared by the log CLI tests: a stand-in source, the target file's check, spawning the CLI. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseLogLine } from '../log-line';
import { generateLogLine } from '../log-traffic';
import type { SyncedRecord } from './sync-record';

/** A stand-in for GET /api/data with the ?id=&limit= contract over an in-memory array. */
export class Source {
  readonly records: SyncedRecord[] = [];
  private readonly index = new Map<string, number>();
  failWith: number | undefined;
  server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const id = url.searchParams.get('id');
      const limit = Number(url.searchParams.get('limit') ?? Number.POSITIVE_INFINITY);
      const from = id === null ? 0 : (this.index.get(id) ?? -2) + 1;
      res.setHeader('content-type', 'application/json');
      if (this.failWith !== undefined || from === -1) {
        res.statusCode = this.failWith ?? 404;
        res.end('{"title":"nope"}');
        return;
      }
      res.end(JSON.stringify(this.records.slice(from, from + limit)));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  add(n = 1): void {
    for (let i = 0; i < n; i++) {
      const parsed = parseLogLine(generateLogLine());
      if (!parsed.ok) throw new Error(parsed.detail);
      const id = randomUUID();
      this.index.set(id, this.records.length);
      this.records.push({ id, created: new Date().toISOString(), log: parsed.value });
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A record as one line of the target file. */
export const line = (r: SyncedRecord) => `${JSON.stringify(r)}\n`;

/** The file must hold exactly the source's records, in order, each on one complete line. */
export async function expectExactlyOnce(file: string, records: SyncedRecord[]): Promise<void> {
  const text = await readFile(file, 'utf8');
  expect(text === '' || text.endsWith('\n'), 'no torn last line').toBe(true);
  const ids = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as SyncedRecord).id);
  expect(new Set(ids).size, 'no duplicates').toBe(ids.length);
  expect(ids).toEqual(records.map((r) => r.id));
  expect(text).toBe(records.map(line).join(''));
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `telelab <args>` as a user runs it, from the repository root. */
export function cli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; onStart?: (kill: () => void) => void } = {},
): Promise<Run> {
  const env = { ...process.env, ...opts.env };
  // THREADS, REQUESTS_DELAY and TARGET_FILE must come from the test only.
  for (const name of ['THREADS', 'REQUESTS_DELAY', 'TARGET_FILE']) if (!opts.env?.[name]) delete env[name];
  const child = spawn(process.execPath, ['bin/telelab.js', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  opts.onStart?.(() => child.kill('SIGTERM'));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
