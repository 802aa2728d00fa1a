import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SyncReport, syncOnce } from './sync-cycle';
import type { SyncedRecord } from './sync-record';
import { runSyncer, type SyncLogger } from './syncer';
import { expectExactlyOnce, line, Source, waitUntil } from './test-support';

let dir: string;
let file: string;
let source: Source;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'telelab-log-sync-'));
  file = join(dir, 'out', 'logs.ndjson');
  source = await new Source().start();
});

afterEach(async () => {
  await source.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('syncOnce', () => {
  it('copies everything from an empty file, page by page, in one cycle', async () => {
    source.add(25);
    const report = await syncOnce({ source: source.url, targetFile: file, pageLimit: 10 });
    expect(report).toMatchObject({
      outcome: 'synced',
      fetched: 25,
      pages: 3,
      lastId: source.records[24]!.id,
    });
    expect(report.lagMs).toBeGreaterThanOrEqual(0);
    await expectExactlyOnce(file, source.records);

    source.add(3);
    expect(await syncOnce({ source: source.url, targetFile: file, pageLimit: 10 })).toMatchObject({
      fetched: 3,
    });
    expect(await syncOnce({ source: source.url, targetFile: file, pageLimit: 10 })).toMatchObject({
      fetched: 0,
    });
    await expectExactlyOnce(file, source.records);
  });

  it('cuts a torn last line before resuming from the last complete one', async () => {
    source.add(5);
    const torn = line(source.records[3]!).slice(0, 40);
    await mkdir(join(dir, 'out'));
    await writeFile(file, source.records.slice(0, 3).map(line).join('') + torn);

    const report = await syncOnce({ source: source.url, targetFile: file });
    expect(report).toMatchObject({ outcome: 'synced', fetched: 2, repairedBytes: 40 });
    await expectExactlyOnce(file, source.records);
  });

  it('cuts a torn first line (no newline at all) and starts from the beginning', async () => {
    source.add(2);
    await mkdir(join(dir, 'out'));
    await writeFile(file, '{"id":"');
    expect(await syncOnce({ source: source.url, targetFile: file })).toMatchObject({
      fetched: 2,
      repairedBytes: 7,
    });
    await expectExactlyOnce(file, source.records);
  });

  it('treats an unknown cursor (source reset) as an error and writes nothing', async () => {
    source.add(2);
    const foreign: SyncedRecord = { ...source.records[0]!, id: randomUUID() };
    await mkdir(join(dir, 'out'));
    await writeFile(file, line(foreign));

    const report = await syncOnce({ source: source.url, targetFile: file });
    expect(report).toMatchObject({
      outcome: 'cursor-not-found',
      fetched: 0,
      error: { code: 'LOGS_SYNC_CURSOR_NOT_FOUND' },
    });
    expect(report.error?.message).toContain(foreign.id);
    expect(await readFile(file, 'utf8')).toBe(line(foreign));
  });

  it('refuses a complete last line that is not a record', async () => {
    source.add(1);
    await mkdir(join(dir, 'out'));
    await writeFile(file, 'hello\n');
    const report = await syncOnce({ source: source.url, targetFile: file });
    expect(report).toMatchObject({ outcome: 'error', error: { code: 'LOGS_SYNC_TARGET_CORRUPT' } });
    expect(await readFile(file, 'utf8')).toBe('hello\n');
  });

  it('reports a failing source and writes nothing', async () => {
    source.add(1);
    source.failWith = 503;
    const report = await syncOnce({ source: source.url, targetFile: file });
    expect(report).toMatchObject({ outcome: 'error', error: { code: 'LOGS_SYNC_SOURCE_ERROR' } });
    expect(await readFile(file, 'utf8')).toBe('');
  });

  it('waits for a held lock, then gives up with "locked"', async () => {
    await mkdir(join(dir, 'out'));
    await writeFile(file, '');
    const release = await lockfile.lock(file, { stale: 10_000 });
    try {
      source.add(1);
      const report = await syncOnce({ source: source.url, targetFile: file, lock: { waitMs: 300 } });
      expect(report.outcome).toBe('locked');
      expect(await readFile(file, 'utf8')).toBe('');
    } finally {
      await release();
    }
  });

  it('takes over a lock left by a dead process once it is stale', async () => {
    source.add(1);
    await mkdir(`${file}.lock`, { recursive: true });
    const past = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, past, past);
    const report = await syncOnce({
      source: source.url,
      targetFile: file,
      lock: { staleMs: 5000, waitMs: 0 },
    });
    expect(report.outcome).toBe('synced');
    await expectExactlyOnce(file, source.records);
  });
});

describe('runSyncer', () => {
  it('two syncers with different intervals write every record exactly once, in order', async () => {
    const controller = new AbortController();
    const reports: SyncReport[][] = [[], []];
    const run = (interval: number, i: number) =>
      runSyncer({
        source: source.url,
        targetFile: file,
        intervalMs: interval,
        pageLimit: 7,
        signal: controller.signal,
        onSync: (r) => reports[i]!.push(r),
      });
    const syncers = [run(10, 0), run(35, 1)];
    const appender = setInterval(() => source.add(1 + Math.floor(Math.random() * 3)), 3);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    clearInterval(appender);
    await waitUntil(
      async () => (await readFile(file, 'utf8')).split('\n').length - 1 === source.records.length,
    );
    controller.abort();
    const [a, b] = await Promise.all(syncers);

    await expectExactlyOnce(file, source.records);
    expect(source.records.length).toBeGreaterThan(300);
    // Both took part, and their own counts add up to the total: nobody wrote a record twice.
    expect(a!.appended).toBeGreaterThan(0);
    expect(b!.appended).toBeGreaterThan(0);
    expect(a!.appended + b!.appended).toBe(source.records.length);
    expect(
      reports
        .flat()
        .every((r) => r.outcome === 'synced' || r.outcome === 'locked' || r.outcome === 'aborted'),
    ).toBe(true);
  });

  it('logs a reset source once, not every interval, and keeps running', async () => {
    const foreign: SyncedRecord = {
      id: randomUUID(),
      created: new Date().toISOString(),
      log: { ip: '::1', method: 'GET', uri: '/', status_code: 200 },
    };
    await mkdir(join(dir, 'out'));
    await writeFile(file, line(foreign));
    const errors: string[] = [];
    const logger: SyncLogger = {
      debug() {},
      info() {},
      warn() {},
      error: (_o, msg) => errors.push(msg ?? ''),
    };
    const controller = new AbortController();
    let cycles = 0;
    await runSyncer({
      source: source.url,
      targetFile: file,
      intervalMs: 5,
      logger,
      signal: controller.signal,
      onSync: () => {
        if (++cycles === 5) controller.abort();
      },
    });
    expect(cycles).toBe(5);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/probably reset.*move the file aside/);
  });
});

describe('kill -9 robustness', () => {
  it('syncer processes killed at random moments never duplicate, reorder or tear records', async () => {
    const script = join(dir, 'syncer-child.mts');
    const syncerUrl = new URL('./syncer.ts', import.meta.url).href;
    await writeFile(
      script,
      `import { runSyncer } from ${JSON.stringify(syncerUrl)};
const [source, targetFile, interval] = process.argv.slice(2);
await runSyncer({ source, targetFile, intervalMs: Number(interval), pageLimit: 5, lock: { staleMs: 2500, updateMs: 1000 } });
`,
    );
    const root = fileURLToPath(new URL('../../../..', import.meta.url));
    const failures: string[] = [];
    const spawnSyncer = (interval: number): ChildProcess => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, source.url, file, String(interval)], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (d) => {
        stderr += d;
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') failures.push(`syncer exited ${code ?? signal}: ${stderr}`);
      });
      return child;
    };

    const appender = setInterval(() => source.add(1 + Math.floor(Math.random() * 4)), 4);
    const live = [spawnSyncer(10), spawnSyncer(37)];
    let kills = 0;
    const until = Date.now() + 9000;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 500));
      const victim = Math.floor(Math.random() * live.length);
      live[victim]!.kill('SIGKILL');
      kills++;
      live[victim] = spawnSyncer(victim === 0 ? 10 : 37);
    }
    clearInterval(appender);
    for (const child of live) child.kill('SIGKILL');
    await Promise.all(
      live.map(
        (c) =>
          new Promise((resolve) =>
            c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once('exit', resolve),
          ),
      ),
    );
    expect(failures).toEqual([]);

    // Catch up in-process; the lock of a syncer killed while holding it goes stale after 2.5 s.
    const report = await syncOnce({
      source: source.url,
      targetFile: file,
      pageLimit: 500,
      lock: { staleMs: 2500, updateMs: 1000 },
    });
    expect(report.outcome).toBe('synced');
    await expectExactlyOnce(file, source.records);
    expect(kills).toBeGreaterThan(15);
    expect(report.fetched, 'the killed syncers did part of the work').toBeLessThan(source.records.length);
    expect(source.records.length).toBeGreaterThan(1000);
    console.log(
      `kill -9 test: ${kills} kills, ${source.records.length} records, catch-up appended ${report.fetched}, repaired ${report.repairedBytes} bytes, in ${report.durationMs} ms`,
    );
  }, 30_000);
});
