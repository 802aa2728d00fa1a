/**
 * The target file's side of a sync cycle: its lock, its last complete line (the resume point) and
 * positioned appends. See sync-cycle.ts for how they make every record land exactly once.
 */
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { SyncError } from './sync-errors';
import { type SyncedRecord, toRecord } from './sync-record';

export interface SyncLockOptions {
  /** A lock not refreshed for this long is taken over (ms, default 10 000, at least 2000). */
  staleMs?: number;
  /** How often the holder refreshes the lock (ms, default 2000, between 1000 and staleMs/2). */
  updateMs?: number;
  /** How long one cycle waits for the lock before giving up (ms, default staleMs + 2 s). */
  waitMs?: number;
}

const DEFAULT_STALE_MS = 10_000;
const DEFAULT_UPDATE_MS = 2_000;
/** A last line longer than this is not ours: refuse rather than scan the whole file. */
const MAX_LINE_BYTES = 1 << 20;

/**
 * Takes the file's exclusive lock (proper-lockfile: a `<file>.lock` directory whose mtime the holder
 * refreshes every `updateMs`; a holder silent for `staleMs` is presumed dead and its lock taken over).
 * Returns the release, or undefined when another syncer kept the lock for the whole wait or the signal
 * ended it. `onCompromised` is called from a timer when the lock can no longer be trusted.
 */
export async function lockTarget(
  file: string,
  opts: SyncLockOptions,
  signal: AbortSignal | undefined,
  onCompromised: (err: Error) => void,
): Promise<(() => Promise<void>) | undefined> {
  const stale = opts.staleMs ?? DEFAULT_STALE_MS;
  const deadline = Date.now() + (opts.waitMs ?? stale + 2000);
  // Our own retry loop rather than the library's, so that an abort signal ends the wait at once.
  for (;;) {
    try {
      return await lockfile.lock(file, {
        stale,
        update: opts.updateMs ?? DEFAULT_UPDATE_MS,
        retries: 0,
        onCompromised,
      });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ELOCKED') throw err;
    }
    if (signal?.aborted || Date.now() >= deadline) return undefined;
    await sleep(20 + Math.random() * 80, undefined, { signal }).catch(() => undefined);
  }
}

/** Finds the end of the last complete line and that line, reading backwards from the end. */
export async function readTail(
  fh: FileHandle,
  size: number,
): Promise<{ completeEnd: number; lastLine: string | null }> {
  for (let window = 64 * 1024; ; window *= 2) {
    const start = Math.max(0, size - window);
    const buf = Buffer.alloc(size - start);
    for (let got = 0; got < buf.length; ) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) throw new Error('file shrank while reading');
      got += bytesRead;
    }
    const lastNl = buf.lastIndexOf(0x0a);
    const prevNl = lastNl > 0 ? buf.lastIndexOf(0x0a, lastNl - 1) : -1;
    if ((lastNl === -1 || prevNl === -1) && start > 0) {
      if (window > MAX_LINE_BYTES) throw new SyncError('LOGS_SYNC_TARGET_CORRUPT', 'last line is too long');
      continue;
    }
    if (lastNl === -1) return { completeEnd: 0, lastLine: null };
    return { completeEnd: start + lastNl + 1, lastLine: buf.subarray(prevNl + 1, lastNl).toString('utf8') };
  }
}

/** The record on a complete line of the file; a line that holds none means the file is not ours. */
export function parseRecordLine(line: string): SyncedRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    value = undefined;
  }
  const record = toRecord(value);
  if (!record) {
    // A complete line we cannot read was not written by a syncer; guessing a cursor could duplicate or skip.
    throw new SyncError(
      'LOGS_SYNC_TARGET_CORRUPT',
      `the last complete line is not a record: ${line.slice(0, 120)}`,
    );
  }
  return record;
}

/** Writes the page as one run of lines at `offset`, then fsync; returns the bytes written. */
export async function writeLines(fh: FileHandle, page: SyncedRecord[], offset: number): Promise<number> {
  const bytes = Buffer.from(page.map((r) => `${JSON.stringify(r)}\n`).join(''));
  for (let off = 0; off < bytes.length; ) {
    off += (await fh.write(bytes, off, bytes.length - off, offset + off)).bytesWritten;
  }
  await fh.sync();
  return bytes.length;
}
