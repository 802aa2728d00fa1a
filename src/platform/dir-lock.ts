/**
 * PGlite does no cross-process locking, and two processes on one data directory corrupt it.
 * We hold `<dir>/telelab.lock` containing our pid and host. A lock whose process is gone
 * (left behind by `kill -9`) is taken over at once, so a crash never blocks the next start.
 * A time-based stale rule (as in proper-lockfile) would block restarts for the stale period.
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { supervisorPid } from './cli-kit';

/** Who holds a lock: the process, and the `telelab up` that runs it (and restarts it) when there is one. */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  /** pid of the supervising `telelab up`: stopping the holder alone would only have it restarted. */
  supervisor?: number;
}

/** The process to stop to free the lock. */
export const processToStop = (h: LockHolder): number => h.supervisor ?? h.pid;

/** "process 12 on host (since …)", or "process 12 (run by telelab up, pid 10) on host (since …)". */
export function describeHolder(h: LockHolder): string {
  const by = h.supervisor ? ` (run by telelab up, pid ${h.supervisor})` : '';
  return `process ${h.pid}${by} on ${h.host} (since ${h.startedAt})`;
}

export interface DirLock {
  readonly file: string;
  release(): void;
}

export class DirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
    what: string,
  ) {
    super(
      `The ${what} in ${dir} is in use by ${describeHolder(holder)}. ` +
        `Stop it (kill ${processToStop(holder)}), or point DATA_DIR at another directory (or use DATABASE_URL for a shared PostgreSQL).`,
    );
    this.name = 'DirLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8'));
    return typeof h?.pid === 'number' ? h : null;
  } catch {
    return null;
  }
}

/** Who holds the lock on `dir` now (a live process, or one on another host), or null if it is free. */
export function lockHolder(dir: string): LockHolder | null {
  const holder = readHolder(path.join(dir, 'telelab.lock'));
  if (!holder) return null;
  if (holder.host !== os.hostname()) return holder;
  return holder.pid !== process.pid && alive(holder.pid) ? holder : null;
}

export function acquireDirLock(dir: string, what = 'directory'): DirLock {
  const file = path.join(dir, 'telelab.lock');
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    supervisor: supervisorPid(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          if (readHolder(file)?.pid === me.pid) unlinkSync(file);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = readHolder(file);
    if (!holder) {
      // Maybe caught between another process's open and write: look again shortly.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      holder = readHolder(file);
    }
    if (holder && holder.host === me.host && holder.pid !== me.pid && alive(holder.pid)) {
      throw new DirLockedError(dir, holder, what);
    }
    if (holder && holder.host !== me.host) throw new DirLockedError(dir, holder, what);
    // Stale (or unreadable: a crash between open and write). Move it aside atomically so two
    // starting processes cannot both delete and recreate it; the loser retries and sees the winner.
    try {
      renameSync(file, `${file}.stale-${me.pid}`);
      unlinkSync(`${file}.stale-${me.pid}`);
    } catch {
      // Someone else took it over first; loop and look again.
    }
  }
  throw new Error(`Could not take the lock ${file}`);
}
