import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDirLock, DirLockedError } from './dir-lock';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'telelab-lock-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Another process that takes the lock and holds it until killed; resolves once it holds it. */
function holdLockInChild(dir: string): Promise<ChildProcess> {
  const script = `
    import { acquireDirLock } from './src/platform/dir-lock.ts';
    acquireDirLock(process.argv[1], 'test directory');
    console.log('locked');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not take the lock in 15 s')), 15_000);
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before taking the lock`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/** The pid of a process that has exited (and was reaped), so it is certainly not alive now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

function writeLock(dir: string, holder: { pid: number; host: string }): string {
  const file = path.join(dir, 'telelab.lock');
  writeFileSync(file, JSON.stringify({ ...holder, startedAt: '2020-01-01T00:00:00.000Z' }));
  return file;
}

const holderPid = (file: string) => JSON.parse(readFileSync(file, 'utf8')).pid as number;

describe('acquireDirLock', () => {
  it('writes a lock file naming this process', () => {
    const dir = tempDir();
    const lock = acquireDirLock(dir);
    expect(lock.file).toBe(path.join(dir, 'telelab.lock'));
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
    });
    lock.release();
  });

  it('refuses a directory held by another live process, naming it and what is locked', async () => {
    const dir = tempDir();
    const child = await holdLockInChild(dir);
    let error: unknown;
    try {
      acquireDirLock(dir, 'embedded database');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DirLockedError);
    expect((error as DirLockedError).holder.pid).toBe(child.pid);
    expect((error as Error).message).toContain(
      `The embedded database in ${dir} is in use by process ${child.pid}`,
    );
    expect(holderPid(path.join(dir, 'telelab.lock'))).toBe(child.pid);
  });

  it('takes over the lock once its holder was killed with SIGKILL', async () => {
    const dir = tempDir();
    const child = await holdLockInChild(dir);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(holderPid(path.join(dir, 'telelab.lock'))).toBe(child.pid); // left behind by the crash
    const lock = acquireDirLock(dir);
    expect(holderPid(lock.file)).toBe(process.pid);
    lock.release();
  });

  it('takes over a stale lock whose pid is dead', () => {
    const dir = tempDir();
    const file = writeLock(dir, { pid: deadPid(), host: os.hostname() });
    const lock = acquireDirLock(dir);
    expect(holderPid(file)).toBe(process.pid);
    lock.release();
  });

  it('takes over an unreadable lock file (a crash between create and write)', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'telelab.lock'), '');
    const lock = acquireDirLock(dir);
    expect(holderPid(lock.file)).toBe(process.pid);
    lock.release();
  });

  it('never takes over a lock held from another host, whose pids it cannot check', () => {
    const dir = tempDir();
    writeLock(dir, { pid: deadPid(), host: `not-${os.hostname()}` });
    expect(() => acquireDirLock(dir)).toThrow(DirLockedError);
  });

  it('removes the lock file on release, so the next start is clean', () => {
    const dir = tempDir();
    const lock = acquireDirLock(dir);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
    lock.release(); // idempotent
    acquireDirLock(dir).release();
  });

  it('does not remove a lock that another process has taken over since', () => {
    const dir = tempDir();
    const lock = acquireDirLock(dir);
    const other = deadPid() + 1_000_000; // any pid but ours
    writeLock(dir, { pid: other, host: os.hostname() });
    lock.release();
    expect(holderPid(lock.file)).toBe(other);
  });
});
