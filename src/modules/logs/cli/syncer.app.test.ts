import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../../test/helpers';
import { createLogsModule } from '../index';
import { generateLogLine } from '../log-traffic';
import { runSyncer, type SyncLogger } from './syncer';
import { defaultSyncerName } from './syncer-name';

/** The syncer against the real API: it reports its position after each successful cycle. */

interface SyncerRow {
  name: string;
  target_file: string;
  last_id: string | null;
  records_written: number;
  lag: number | null;
}

let app: TestApp;
let url: string;
let dir: string;

beforeAll(async () => {
  app = await buildTestApp({ modules: [createLogsModule] });
  const address = await app.http.listen({ port: 0, host: '127.0.0.1' });
  url = address;
  dir = await mkdtemp(join(tmpdir(), 'telelab-syncer-app-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function addLines(n: number): Promise<string[]> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/data/batch',
    payload: Array.from({ length: n }, () => ({ log: generateLogLine() })),
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ ids: string[] }>().ids;
}

async function syncers(): Promise<SyncerRow[]> {
  return (await app.http.inject({ method: 'GET', url: '/api/data/syncers' })).json<SyncerRow[]>();
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const fileIds = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id);

function recordingLogger() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = '') =>
      lines.push({ level, msg, obj });
  const logger: SyncLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger };
}

describe('syncer position reports', () => {
  it('PUTs {target_file, last_id, records_written} after each cycle; the API shows the lag', async () => {
    const file = join(dir, 'a', 'logs.ndjson');
    const ids = await addLines(25);
    const controller = new AbortController();
    const name = defaultSyncerName(file, 50);
    expect(name).toBe('logs.ndjson-50ms');
    const running = runSyncer({
      source: url,
      targetFile: file,
      intervalMs: 50,
      pageLimit: 10,
      name,
      signal: controller.signal,
    });
    try {
      const first = await until('the first report', async () =>
        (await syncers()).find((s) => s.name === name && s.last_id === ids.at(-1)),
      );
      expect(first).toEqual({
        name,
        target_file: resolve(file),
        last_id: ids.at(-1),
        records_written: 25,
        lag: 0,
        reported_at: expect.any(String),
      });

      const more = await addLines(5);
      const second = await until('the report after new records', async () =>
        (await syncers()).find((s) => s.name === name && s.last_id === more.at(-1)),
      );
      expect(second.records_written).toBe(30);
      expect(second.lag).toBe(0);
      expect(await fileIds(file)).toEqual([...ids, ...more]);
    } finally {
      controller.abort();
    }
    const summary = await running;
    expect(summary.appended).toBe(30);
  });

  it('a refused report is logged at debug and syncing goes on', async () => {
    const file = join(dir, 'b', 'logs.ndjson');
    const { lines, logger } = recordingLogger();
    const controller = new AbortController();
    const running = runSyncer({
      source: url,
      targetFile: file,
      intervalMs: 20,
      name: 'not a valid name!', // the API answers 400
      logger,
      signal: controller.signal,
    });
    try {
      const before = (await fileIds(file).catch(() => [])).length;
      await until('a refused report', async () =>
        lines.find((l) => l.msg === 'log sync: position report refused') ? true : undefined,
      );
      const added = await addLines(3);
      await until('the new records in the file', async () =>
        (await fileIds(file)).at(-1) === added.at(-1) ? true : undefined,
      );
      expect((await fileIds(file)).length).toBeGreaterThan(before);
    } finally {
      controller.abort();
    }
    await running;
    const refused = lines.filter((l) => l.msg.startsWith('log sync: position report'));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((l) => l.level === 'debug')).toBe(true);
    expect(refused[0]!.obj).toMatchObject({ status: 400 });
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('a report that hangs times out at debug; the next cycles still run', async () => {
    // A proxy to the real API whose PUT never answers.
    const proxy = createServer(async (req, res) => {
      if (req.method === 'PUT') return; // hang
      const upstream = await fetch(`${url}${req.url}`);
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const source = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const file = join(dir, 'c', 'logs.ndjson');
    const { lines, logger } = recordingLogger();
    const controller = new AbortController();
    let cycles = 0;
    const running = runSyncer({
      source,
      targetFile: file,
      intervalMs: 10,
      name: 'hanging',
      logger,
      signal: controller.signal,
      onSync: () => {
        cycles++;
      },
    });
    try {
      // The 2 s report timeout does not hold the cycles back.
      await until('cycles while the report hangs', async () => (cycles >= 5 ? true : undefined), 1500);
      const added = await addLines(2);
      await until('the new records in the file', async () =>
        (await fileIds(file)).at(-1) === added.at(-1) ? true : undefined,
      );
    } finally {
      controller.abort();
      await running;
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
    expect(lines.some((l) => l.level === 'debug' && l.msg === 'log sync: position report failed')).toBe(true);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  }, 20_000);

  it('default names are stable, per file and interval, and valid for the API', () => {
    expect(defaultSyncerName('/var/log/access logs.ndjson', 1000)).toBe('access_logs.ndjson-1000ms');
    expect(defaultSyncerName('./out/logs.ndjson', 250)).toBe('logs.ndjson-250ms');
    const long = defaultSyncerName(`/x/${'é'.repeat(100)}.ndjson`, 86_400_000);
    expect(long).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    expect(long.endsWith('-86400000ms')).toBe(true);
  });
});
