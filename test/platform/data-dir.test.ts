/**
 * The embedded database's directory across real `telelab` processes: one process at a time, and a
 * `kill -9` neither blocks the next start nor loses committed data. The processes always use PGlite,
 * whatever this run's database, so the PostgreSQL pass skips this file rather than repeat it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { configSpec } from '../../src/platform/config';
import { openDb } from '../../src/platform/db';
import { onPostgres } from '../helpers';

const ROOT = new URL('../../', import.meta.url);
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telelab-datadir-'));
  dirs.push(dir);
  return dir;
}

interface Proc {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `telelab <args>` as users run it (bin/telelab.js: the compiled CLI, rebuilt when the source
 * changed) on the embedded database in `dir` (never a DATABASE_URL of this run).
 */
function telelab(args: string[], dir: string): Proc {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in configSpec)));
  const child = spawn(process.execPath, ['bin/telelab.js', ...args], {
    cwd: ROOT,
    env: { ...base, DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => ({ stdout, stderr }), exit };
}

/** Resolves with the base URL once `serve` prints it; fails if the process exits or is slow. */
async function serving(proc: Proc, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exit.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    const m = /API and dashboard\s+(http:\/\/\S+?)\/?\s/.exec(proc.output().stdout);
    if (m) return m[1]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`serve did not print its URL (exited: ${exited}):\n${JSON.stringify(proc.output())}`);
}

async function finished(proc: Proc, timeoutMs = 30_000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not exit: ${JSON.stringify(proc.output())}`)), timeoutMs);
  });
  return Promise.race([proc.exit, timeout]).finally(() => clearTimeout(timer));
}

const lockHolder = (dir: string) =>
  JSON.parse(readFileSync(path.join(dir, 'telelab.lock'), 'utf8')).pid as number;

// The two tests use their own directories and processes: run them side by side.
describe.skipIf(onPostgres).concurrent('the embedded database directory across processes', () => {
  it('refuses a second process on a directory in use, with a clear message and exit code 1', async () => {
    const dir = dataDir();
    const first = telelab(['serve'], dir);
    await serving(first);

    for (const command of ['migrate', 'serve']) {
      const second = telelab([command], dir);
      const { code } = await finished(second);
      const { stderr } = second.output();
      expect(code, `${command}: ${stderr}`).toBe(1);
      expect(stderr).toContain(`The embedded database in ${dir} is in use by process ${first.child.pid}`);
      expect(stderr).toContain('point DATA_DIR at another directory');
      expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }

    first.child.kill('SIGTERM');
    expect(await finished(first)).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, 'telelab.lock'))).toBe(false);
  }, 120_000);

  it('starts again after kill -9 of the holder, ready and with the data committed before', async () => {
    const dir = dataDir();
    const marker = `written before the crash ${Date.now()}`;
    const seed = await openDb({ dataDir: dir });
    await seed.exec('create table crash_probe (note text not null)');
    await seed.query('insert into crash_probe (note) values ($1)', [marker]);
    await seed.close();

    const first = telelab(['serve'], dir);
    const firstUrl = await serving(first);
    expect((await fetch(`${firstUrl}/readyz`)).status).toBe(200); // its job schema is committed by now
    first.child.kill('SIGKILL');
    expect((await finished(first)).signal).toBe('SIGKILL');
    expect(lockHolder(dir)).toBe(first.child.pid); // the crash left its lock behind

    // Look at the files as the crash left them, bypassing (and so keeping) the stale lock: the row
    // written before, and the job schema that only the killed process wrote, never closing cleanly.
    const forensic = new PGlite(path.join(dir, 'pgdata'));
    try {
      expect((await forensic.query('select note from crash_probe')).rows).toEqual([{ note: marker }]);
      expect((await forensic.query('select version from pgboss.version')).rows).toHaveLength(1);
    } finally {
      await forensic.close();
    }

    const second = telelab(['serve'], dir);
    const secondUrl = await serving(second);
    const ready = await fetch(`${secondUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'pglite' });
    expect(lockHolder(dir)).toBe(second.child.pid);
    second.child.kill('SIGTERM');
    expect(await finished(second)).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, 'telelab.lock'))).toBe(false);
  }, 120_000);
});
