import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLogLine } from '../log-line';
import { type LogClientOptions, runLogClient } from './client';

/** A stand-in for POST /api/data: 201 for a line that parses, 418 otherwise; records what it got. */
async function startServer(): Promise<{
  url: string;
  server: Server;
  received: string[];
  connections: () => number;
}> {
  const received: string[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const ok = req.method === 'POST' && req.url === '/api/data';
      const log = ok ? (JSON.parse(body) as { log: string }).log : '';
      received.push(log);
      res.statusCode = ok && parseLogLine(log).ok ? 201 : 418;
      res.end('{}');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, received, connections: () => connections };
}

let dir: string;
let srv: Awaited<ReturnType<typeof startServer>>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'telelab-log-client-'));
  srv = await startServer();
});

afterEach(async () => {
  await new Promise((resolve) => srv.server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** The client against the stand-in server, writing its files to the temp dir, no malformed lines by default. */
const runClient = (options: Pick<LogClientOptions, 'threads' | 'delayMs'> & Partial<LogClientOptions>) =>
  runLogClient({ target: srv.url, invalidRatio: 0, logDir: dir, ...options });

describe('runLogClient', () => {
  it('sends exactly --count requests across threads, one log file per thread', async () => {
    const result = await runClient({ threads: 4, delayMs: 5, count: 200 });

    expect(result.sent).toBe(200);
    expect(srv.received).toHaveLength(200);
    expect(result.byStatus).toEqual({ 201: 200 });
    expect(result.errors).toBe(0);
    expect(result.unexpected).toBe(0);
    expect(result.ratePerSec).toBeGreaterThan(0);

    expect(result.files).toHaveLength(4);
    expect((await readdir(dir)).sort()).toEqual(result.files.map((f) => basename(f)).sort());
    const lines: string[] = [];
    for (const file of result.files) {
      expect(basename(file)).toMatch(/^[0-9a-f]{8}\.log$/);
      const content = await readFile(file, 'utf8');
      lines.push(...content.trimEnd().split('\n'));
    }
    expect(lines).toHaveLength(200);
    for (const line of lines) {
      const m = /^(\S+Z) (".*") -> (\d{3})$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(parseLogLine(JSON.parse(m![2]!) as string).ok).toBe(true);
      expect(m![3]).toBe('201');
    }
    // What the files say was sent is what the server received.
    const logged = lines.map((l) => JSON.parse(/ (".*") -> /.exec(l)![1]!) as string);
    expect(logged.sort()).toEqual([...srv.received].sort());
    // Keep-alive: no more connections than threads.
    expect(srv.connections()).toBeLessThanOrEqual(4);
  });

  it('sends about --invalid-ratio malformed lines, and the server rejects exactly those', async () => {
    const result = await runClient({ threads: 8, delayMs: 0, count: 2000, invalidRatio: 0.3 });

    expect(result.sent).toBe(2000);
    // Binomial(2000, 0.3): sd ~ 20, so +-100 is a 5-sigma band.
    expect(result.invalidSent).toBeGreaterThan(500);
    expect(result.invalidSent).toBeLessThan(700);
    expect(result.byStatus).toEqual({ 201: 2000 - result.invalidSent, 418: result.invalidSent });
    expect(result.unexpected).toBe(0);
  });

  it('stops at --duration', async () => {
    const result = await runClient({ threads: 2, delayMs: 20, durationMs: 300 });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(result.durationMs).toBeLessThan(1500);
    // Each thread waits 0..20 ms between requests, so ~30 requests per thread at most a few times over.
    expect(result.sent).toBeGreaterThan(10);
  });

  it('stops when the signal aborts and still closes its files', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runClient({ threads: 3, delayMs: 1000, signal: controller.signal });
    expect(result.durationMs).toBeLessThan(1000);
    expect(result.sent).toBeGreaterThanOrEqual(3);
  });

  it('counts transport errors and logs them when the target is down', async () => {
    const { port } = srv.server.address() as AddressInfo;
    await new Promise((resolve) => srv.server.close(resolve));
    srv.server = createServer(); // afterEach closes whatever is here
    const result = await runClient({ target: `http://127.0.0.1:${port}`, threads: 2, delayMs: 0, count: 4 });
    expect(result.sent).toBe(4);
    expect(result.errors).toBe(4);
    expect(result.errorsByCode).toEqual({ ECONNREFUSED: 4 });
    const content = await Promise.all(result.files.map((f) => readFile(f, 'utf8')));
    expect(content.join('').match(/-> ERR ECONNREFUSED$/gm)).toHaveLength(4);
  });

  it('reports progress while running', async () => {
    const seen: number[] = [];
    await runClient({
      threads: 2,
      delayMs: 10,
      durationMs: 250,
      progressIntervalMs: 50,
      onProgress: (p) => seen.push(p.sent),
    });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('fails before sending anything when the log dir cannot be used', async () => {
    const notADir = join(dir, 'file');
    await writeFile(notADir, '');
    await expect(runClient({ threads: 2, delayMs: 0, count: 5, logDir: notADir })).rejects.toThrow();
    expect(srv.received).toHaveLength(0);
  });

  it('rejects impossible options', async () => {
    await expect(
      runLogClient({ target: 'nope', threads: 0, delayMs: -1, invalidRatio: 2, logDir: dir }),
    ).rejects.toThrow(/threads must be.*delayMs.*invalidRatio.*target/);
  });
});
