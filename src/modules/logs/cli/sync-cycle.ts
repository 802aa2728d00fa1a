/**
 * One cycle of `telelab log-sync`: copies the records of `GET /api/data?id=` into an NDJSON file.
 *
 * Any number of syncers may share one file and be killed (-9) at any moment; together they write
 * every record exactly once, in cursor order. How:
 * - Each cycle holds an exclusive lock on the file (sync-target.ts). All syncers on one file must use
 *   the same staleMs/updateMs.
 * - The file is the only cursor: the resume point is the id on its last complete line, so nothing
 *   can disagree with what was actually written.
 * - A kill mid-write leaves a prefix of the page. Records are written in cursor order, so the complete
 *   lines of a prefix are correct; the partial line after the last newline is truncated away.
 * - Each page goes out as one write at the offset where the cycle found the end of the file, then
 *   fsync, before the next page or the release. If the lock was lost (onCompromised, or the file grew
 *   under us), the cycle stops before writing. Should two holders still race (proper-lockfile's
 *   stale take-over has a small window), both write the same bytes at the same offset: the content
 *   at each offset is fixed by the cursor order, so the race cannot duplicate a record.
 * - 404 for the cursor id means the source no longer knows the file's last record (e.g. its database
 *   was reset). Starting again from zero would splice two unrelated histories into one file, so the
 *   cycle reports an error naming the file and writes nothing; the syncer retries each interval (the
 *   source may come back). An operator moves the file aside to start over.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage, SyncError, type SyncErrorCode } from './sync-errors';
import { fetchPage, type SourceOptions } from './sync-source';
import { lockTarget, parseRecordLine, readTail, type SyncLockOptions, writeLines } from './sync-target';

export interface SyncOnceOptions extends SourceOptions {
  targetFile: string;
  /** Records per GET (default 1000). */
  pageLimit?: number;
  signal?: AbortSignal;
  lock?: SyncLockOptions;
}

/**
 * synced: caught up (or stopped by the signal after a complete page); locked: another syncer kept the
 * lock for the whole wait; aborted: the signal ended the wait or a fetch; the rest carry `error`.
 */
export type SyncOutcome = 'synced' | 'locked' | 'aborted' | 'cursor-not-found' | 'lock-lost' | 'error';

export interface SyncReport {
  outcome: SyncOutcome;
  /** Records appended in this cycle. */
  fetched: number;
  pages: number;
  /** Id and creation time of the file's last record after the cycle (null while the file is empty). */
  lastId: string | null;
  lastCreated: string | null;
  /** Time since the file's last record was created at the source: the syncer's lag when caught up. */
  lagMs: number | null;
  /** Bytes of a torn last line cut away before appending. */
  repairedBytes: number;
  durationMs: number;
  error?: { code: SyncErrorCode; message: string };
}

/** One cycle: lock, repair, resume from the last complete line, fetch pages until caught up, release. */
export async function syncOnce(opts: SyncOnceOptions): Promise<SyncReport> {
  const started = performance.now();
  const report: SyncReport = {
    outcome: 'synced',
    fetched: 0,
    pages: 0,
    lastId: null,
    lastCreated: null,
    lagMs: null,
    repairedBytes: 0,
    durationMs: 0,
  };
  const finish = (outcome: SyncOutcome, error?: SyncReport['error']): SyncReport => {
    report.outcome = outcome;
    if (error) report.error = error;
    report.lagMs = report.lastCreated === null ? null : lag(report.lastCreated);
    report.durationMs = Math.round(performance.now() - started);
    return report;
  };

  const cycle = new AbortController();
  const onAbort = () => cycle.abort(opts.signal?.reason);
  let lost: Error | undefined;
  let release: (() => Promise<void>) | undefined;
  try {
    await mkdir(dirname(opts.targetFile), { recursive: true });
    await (await open(opts.targetFile, 'a')).close(); // the lock needs the file to exist
    release = await lockTarget(opts.targetFile, opts.lock ?? {}, opts.signal, (err) => {
      // Called from a timer when the lock can no longer be trusted: stop before the next write.
      lost = err;
      cycle.abort(err);
    });
  } catch (err) {
    return finish('error', { code: 'LOGS_SYNC_FAILED', message: errorMessage(err) });
  }
  if (!release) return finish(opts.signal?.aborted ? 'aborted' : 'locked');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  let fh: FileHandle | undefined;
  try {
    fh = await open(opts.targetFile, 'r+');
    const size = (await fh.stat()).size;
    const tail = await readTail(fh, size);
    if (tail.completeEnd < size) {
      if (lost) throw lost;
      await fh.truncate(tail.completeEnd);
      await fh.sync();
      report.repairedBytes = size - tail.completeEnd;
    }
    let end = tail.completeEnd;
    let cursor = tail.lastLine === null ? null : parseRecordLine(tail.lastLine);
    report.lastId = cursor?.id ?? null;
    report.lastCreated = cursor?.created ?? null;

    const pageLimit = opts.pageLimit ?? 1000;
    for (;;) {
      const page = await fetchPage(opts, cursor?.id ?? null, pageLimit, cycle.signal);
      if (page === 'cursor-not-found') {
        return finish('cursor-not-found', {
          code: 'LOGS_SYNC_CURSOR_NOT_FOUND',
          message: `the source does not know ${cursor?.id}, the last record in ${opts.targetFile}; its data was probably reset. Not restarting from zero: move the file aside to start over`,
        });
      }
      if (page.length === 0) break;
      if (lost) throw lost;
      // Fencing: nobody else may have written since we read the end (only possible if the lock was lost).
      if ((await fh.stat()).size !== end) {
        throw new SyncError('LOGS_SYNC_LOCK_LOST', `${opts.targetFile} changed under the lock`);
      }
      end += await writeLines(fh, page, end);
      cursor = page[page.length - 1]!;
      report.fetched += page.length;
      report.pages++;
      report.lastId = cursor.id;
      report.lastCreated = cursor.created;
      if (page.length < pageLimit || opts.signal?.aborted) break;
    }
    return finish('synced');
  } catch (err) {
    if (lost || (err instanceof SyncError && err.code === 'LOGS_SYNC_LOCK_LOST')) {
      return finish('lock-lost', { code: 'LOGS_SYNC_LOCK_LOST', message: (lost ?? (err as Error)).message });
    }
    if (opts.signal?.aborted) return finish('aborted');
    const code = err instanceof SyncError ? err.code : 'LOGS_SYNC_FAILED';
    return finish('error', { code, message: errorMessage(err) });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await fh?.close();
    await release().catch(() => undefined); // already released if compromised
  }
}

function lag(created: string): number | null {
  const t = Date.parse(created);
  return Number.isNaN(t) ? null : Math.max(0, Date.now() - t);
}
