import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type TestApp } from '../../../../test/helpers';
import { createLogsModule } from '../index';
import { logClientCommand, logSyncCommand } from './commands';
import { cli, closedPort } from './test-support';

/** `telelab log-client` / `telelab log-sync` as a user runs them: flags, variables, exit codes. */

const ENV_VARIABLES = ['THREADS', 'REQUESTS_DELAY', 'TARGET_FILE'];

let dir: string;
let app: TestApp;
let api: string;
let deadUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'telelab-log-cmd-'));
  app = await buildTestApp({ modules: [createLogsModule] });
  api = await app.http.listen({ port: 0, host: '127.0.0.1' });
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`process.exit(${code})`);
  }
}

/**
 * Parses in this process (spawning ~20 CLIs costs a minute on a small machine): the action is
 * replaced by one that records the options, process.exit by a throw.
 */
async function parse(
  make: () => Command,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | undefined; stderr: string; opts?: Record<string, unknown> }> {
  const cmd = make();
  let stderr = '';
  let opts: Record<string, unknown> | undefined;
  cmd.configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
  cmd.action((o: Record<string, unknown>) => {
    opts = o;
  });
  const saved = ENV_VARIABLES.map((k) => [k, process.env[k]] as const);
  for (const k of ENV_VARIABLES) delete process.env[k];
  Object.assign(process.env, env);
  const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exit(code === undefined || code === null ? undefined : Number(code));
  });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { code: 0, stderr, ...(opts ? { opts } : {}) };
  } catch (e) {
    if (e instanceof Exit) return { code: e.code, stderr };
    throw e;
  } finally {
    exit.mockRestore();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('usage errors exit 2 and name the flag', () => {
  const client = logClientCommand;
  const sync = logSyncCommand;
  const cases: [string, () => Command, string[], Record<string, string>, RegExp][] = [
    ['threads 0', client, ['--threads', '0'], {}, /--threads/],
    ['threads not a number', client, ['--threads', 'abc'], {}, /--threads/],
    ['THREADS not a number', client, ['--count', '1'], { THREADS: 'many' }, /THREADS/],
    ['REQUESTS_DELAY negative', client, ['--count', '1'], { REQUESTS_DELAY: '-5' }, /REQUESTS_DELAY/],
    ['delay with a unit', client, ['--delay', '1s'], {}, /--delay/],
    ['target not http', client, ['--target', 'ftp://example.com'], {}, /--target/],
    ['target not a URL', client, ['--target', 'localhost:8000'], {}, /--target/],
    ['count fractional', client, ['--count', '1.5'], {}, /--count/],
    ['duration unknown unit', client, ['--duration', '5 weeks'], {}, /--duration/],
    ['invalid ratio > 1', client, ['--invalid-ratio', '2'], {}, /--invalid-ratio/],
    ['invalid ratio not a number', client, ['--invalid-ratio', 'half'], {}, /--invalid-ratio/],
    ['unknown flag', client, ['--bogus'], {}, /--bogus/],
    ['missing value', client, ['--threads'], {}, /--threads/],
    ['stray argument', client, ['extra'], {}, /too many arguments|unknown command|extra/],
    ['interval not a number', sync, ['--interval', 'often'], {}, /--interval/],
    ['source not a URL', sync, ['--source', 'nope'], {}, /--source/],
    ['page limit 0', sync, ['--page-limit', '0'], {}, /--page-limit/],
    ['syncer name with a space', sync, ['--name', 'my syncer'], {}, /--name/],
    ['syncer name too long', sync, ['--name', 'x'.repeat(65)], {}, /--name/],
    ['unknown log-sync flag', sync, ['--target', 'x'], {}, /--target/],
  ];
  it.each(cases)('%s', async (_name, make, args, env, message) => {
    const r = await parse(make, args, env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('flag values', () => {
  it('log-client: defaults, THREADS and REQUESTS_DELAY, flags over variables, duration units', async () => {
    expect((await parse(logClientCommand, [])).opts).toEqual({
      threads: 4,
      delay: 500,
      target: 'http://127.0.0.1:8000',
      invalidRatio: 0,
      logDir: './.telelab/log-client',
    });
    const env = { THREADS: '7', REQUESTS_DELAY: '20' };
    expect((await parse(logClientCommand, [], env)).opts).toMatchObject({ threads: 7, delay: 20 });
    expect((await parse(logClientCommand, ['--threads', '2', '--delay', '0'], env)).opts).toMatchObject({
      threads: 2,
      delay: 0,
    });
    for (const [text, ms] of [
      ['500ms', 500],
      ['30s', 30_000],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['2', 2000],
      ['1.5s', 1500],
    ] as const) {
      expect((await parse(logClientCommand, ['--duration', text])).opts?.duration, text).toBe(ms);
    }
  });

  it('log-sync: defaults, TARGET_FILE, --name, --no-report', async () => {
    expect((await parse(logSyncCommand, [])).opts).toEqual({
      targetFile: './.telelab/logs.ndjson',
      interval: 1000,
      source: 'http://127.0.0.1:8000',
      pageLimit: 1000,
      report: true,
    });
    expect((await parse(logSyncCommand, [], { TARGET_FILE: '/data/a.ndjson' })).opts?.targetFile).toBe(
      '/data/a.ndjson',
    );
    expect((await parse(logSyncCommand, ['--name', 'host-1:a.ndjson', '--no-report'])).opts).toMatchObject({
      name: 'host-1:a.ndjson',
      report: false,
    });
  });
});

describe('the real CLI (spawned): exit codes', () => {
  it.concurrent('a bad flag exits 2', async () => {
    const [client, sync, variable] = await Promise.all([
      cli(['log-client', '--threads', '0']),
      cli(['log-sync', '--name', 'my syncer']),
      cli(['log-client', '--count', '1'], { env: { THREADS: 'many' } }),
    ]);
    for (const r of [client, sync, variable]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
    }
    expect(client.stderr).toMatch(/--threads/);
    expect(sync.stderr).toMatch(/--name/);
    expect(variable.stderr).toMatch(/THREADS/);
  });

  it.concurrent('an unreachable target: log-client exits 1', async () => {
    const logDir = join(dir, 'unreachable-client');
    const r = await cli([
      'log-client',
      '--target',
      deadUrl,
      '--count',
      '4',
      '--delay',
      '0',
      '--json',
      '--log-dir',
      logDir,
    ]);
    expect(r.code, r.stderr).toBe(1);
    const result = JSON.parse(r.stdout) as {
      sent: number;
      errors: number;
      errorsByCode: Record<string, number>;
    };
    expect(result.sent).toBe(4);
    expect(result.errors).toBe(4);
    expect(result.errorsByCode).toEqual({ ECONNREFUSED: 4 });
  });

  it.concurrent('an unreachable source: log-sync --once exits 1', async () => {
    const r = await cli([
      'log-sync',
      '--once',
      '--source',
      deadUrl,
      '--target-file',
      join(dir, 'dead.ndjson'),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });
});

describe('against the API', () => {
  it('log-client posts, logs per thread and exits 0; log-sync --once copies the stored records', async () => {
    const logDir = join(dir, 'client-logs');
    const r = await cli(
      [
        'log-client',
        '--target',
        api,
        '--count',
        '40',
        '--delay',
        '0',
        '--invalid-ratio',
        '0.25',
        '--log-dir',
        logDir,
        '--json',
      ],
      { env: { THREADS: '3' } },
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      sent: number;
      byStatus: Record<string, number>;
      unexpected: number;
    };
    expect(result.sent).toBe(40);
    expect((result.byStatus['201'] ?? 0) + (result.byStatus['418'] ?? 0)).toBe(40);
    expect(result.unexpected).toBe(0);
    const files = await readdir(logDir);
    expect(files).toHaveLength(3); // THREADS=3
    for (const f of files) expect(f).toMatch(/^[0-9a-f]{8}\.log$/);
    const logged = (await Promise.all(files.map((f) => readFile(join(logDir, f), 'utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l !== '');
    expect(logged).toHaveLength(40);

    const target = join(dir, 'once.ndjson');
    const sync = await cli(['log-sync', '--once', '--source', api], { env: { TARGET_FILE: target } });
    expect(sync.code, sync.stderr).toBe(0);
    const lines = (await readFile(target, 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(result.byStatus['201'] ?? 0);
  });

  it('log-sync reports its position under the default name and stops on SIGTERM with 0', async () => {
    const target = join(dir, 'cli.ndjson');
    let stop = () => {};
    const running = cli(['log-sync', '--source', api, '--target-file', target, '--interval', '50'], {
      onStart: (kill) => {
        stop = kill;
      },
    });
    const deadline = Date.now() + 20_000;
    let row: { name: string; last_id: string | null; lag: number | null } | undefined;
    while (!row && Date.now() < deadline) {
      const rows = (await app.http.inject({ method: 'GET', url: '/api/data/syncers' })).json<
        { name: string; last_id: string | null; lag: number | null }[]
      >();
      row = rows.find((s) => s.name === 'cli.ndjson-50ms' && s.lag === 0);
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    stop();
    const r = await running;
    expect(row, r.stderr).toBeDefined();
    expect(r.code, r.stderr).toBe(0);
  }, 40_000);
});
