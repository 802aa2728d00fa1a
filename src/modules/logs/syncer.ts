import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { Agent, type Dispatcher, request } from 'undici';
import { ServiceError } from '../../platform/errors';

/**
 * The seed's background syncer: copies the records of `GET /api/data?id=` into an NDJSON file.
 *
 * Any number of syncers may share one file and be killed (-9) at any moment; together they write
 * every record exactly once, in cursor order. How:
 * - Each cycle holds an exclusive lock (proper-lockfile: a `<file>.lock` directory whose mtime the
 *   holder refreshes every `updateMs`; a holder silent for `staleMs` is presumed dead and its lock is
 *   taken over). All syncers on one file must use the same staleMs/updateMs.
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
 *   syncer logs an error naming the file, writes nothing, and keeps retrying each interval (the
 *   source may come back). An operator moves the file aside to start over.
 */

export interface SyncedRecord {
  id: string;
  created: string;
  log: { ip: string; method: string; uri: string; status_code: number };
}

export interface SyncLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyncLockOptions {
  /** A lock not refreshed for this long is taken over (ms, default 10 000, at least 2000). */
  staleMs?: number;
  /** How often the holder refreshes the lock (ms, default 2000, between 1000 and staleMs/2). */
  updateMs?: number;
  /** How long one cycle waits for the lock before giving up (ms, default staleMs + 2 s). */
  waitMs?: number;
}

export interface SyncOnceOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:8000. */
  source: string;
  targetFile: string;
  /** Records per GET (default 1000). */
  pageLimit?: number;
  signal?: AbortSignal;
  lock?: SyncLockOptions;
  /** Per-request timeout (ms, default 10 000). */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

export interface SyncerOptions extends SyncOnceOptions {
  /** Pause between cycles (ms). */
  intervalMs: number;
  logger?: SyncLogger;
  onSync?: (report: SyncReport) => void;
  /**
   * After each successful cycle, report the position as `PUT <source>/api/data/syncers/<name>`
   * (`[A-Za-z0-9._:-]{1,64}`, see `defaultSyncerName`). Best effort: a failed report is logged at
   * debug and never stops syncing. Unset: no reports.
   */
  name?: string;
}

/** What a syncer reports after each successful cycle. */
export interface PositionReport {
  target_file: string;
  /** The file's last record, null while it is empty. */
  last_id: string | null;
  /** Records this syncer process appended since it started (other syncers on the file count apart). */
  records_written: number;
}

export { defaultSyncerName, SYNCER_NAME } from './syncer-name';

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
  error?: { code: string; message: string };
}

export interface SyncerSummary {
  cycles: number;
  appended: number;
  repairedBytes: number;
}

const DEFAULT_STALE_MS = 10_000;
const DEFAULT_UPDATE_MS = 2_000;
/** A last line longer than this is not ours: refuse rather than scan the whole file. */
const MAX_LINE_BYTES = 1 << 20;

const silent: SyncLogger = { debug() {}, info() {}, warn() {}, error() {} };

const REPORT_TIMEOUT_MS = 2000;

/** PUT the position; any failure is the dashboard's loss only, so it is logged at debug and dropped. */
async function reportPosition(
  opts: SyncerOptions,
  dispatcher: Dispatcher,
  logger: SyncLogger,
  position: PositionReport,
): Promise<void> {
  const url = `${opts.source.replace(/\/+$/, '')}/api/data/syncers/${encodeURIComponent(opts.name!)}`;
  try {
    const res = await request(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(position),
      dispatcher,
      headersTimeout: Math.min(opts.timeoutMs ?? REPORT_TIMEOUT_MS, REPORT_TIMEOUT_MS),
      bodyTimeout: Math.min(opts.timeoutMs ?? REPORT_TIMEOUT_MS, REPORT_TIMEOUT_MS),
      // No abort signal: the report of the last cycle before a graceful stop is still sent.
    });
    const detail = (await res.body.text()).slice(0, 200);
    if (res.statusCode >= 300) {
      logger.debug({ url, status: res.statusCode, detail }, 'log sync: position report refused');
    }
  } catch (err) {
    logger.debug({ url, err: errorMessage(err) }, 'log sync: position report failed');
  }
}

/** Runs cycles every intervalMs until the signal aborts; a cycle in progress finishes its page first. */
export async function runSyncer(opts: SyncerOptions): Promise<SyncerSummary> {
  const logger = opts.logger ?? silent;
  const dispatcher = opts.dispatcher ?? new Agent();
  const summary: SyncerSummary = { cycles: 0, appended: 0, repairedBytes: 0 };
  let previousProblem: string | undefined;
  let reporting: Promise<void> | undefined;
  try {
    while (!opts.signal?.aborted) {
      const report = await syncOnce({ ...opts, dispatcher });
      summary.cycles++;
      summary.appended += report.fetched;
      summary.repairedBytes += report.repairedBytes;
      previousProblem = logReport(logger, opts.targetFile, report, previousProblem);
      opts.onSync?.(report);
      // In the background, one at a time: a slow API never delays the next cycle.
      if (opts.name !== undefined && report.outcome === 'synced' && !reporting) {
        reporting = reportPosition(opts, dispatcher, logger, {
          target_file: resolve(opts.targetFile),
          last_id: report.lastId,
          records_written: summary.appended,
        }).finally(() => {
          reporting = undefined;
        });
      }
      await sleep(opts.intervalMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  } finally {
    await reporting; // the last report, bounded by its timeout
    if (!opts.dispatcher) await dispatcher.close();
  }
  return summary;
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
  const finish = (outcome: SyncOutcome, error?: { code: string; message: string }): SyncReport => {
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
    release = await acquire(opts.targetFile, opts.lock ?? {}, opts.signal, (err) => {
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
      const now = (await fh.stat()).size;
      if (now !== end) {
        throw new ServiceError('LOGS_SYNC_LOCK_LOST', 409, `${opts.targetFile} changed under the lock`);
      }
      const bytes = Buffer.from(page.map((r) => `${JSON.stringify(r)}\n`).join(''));
      for (let off = 0; off < bytes.length; ) {
        off += (await fh.write(bytes, off, bytes.length - off, end + off)).bytesWritten;
      }
      await fh.sync();
      end += bytes.length;
      cursor = page[page.length - 1]!;
      report.fetched += page.length;
      report.pages++;
      report.lastId = cursor.id;
      report.lastCreated = cursor.created;
      if (page.length < pageLimit || opts.signal?.aborted) break;
    }
    return finish('synced');
  } catch (err) {
    if (lost || (err instanceof ServiceError && err.code === 'LOGS_SYNC_LOCK_LOST')) {
      return finish('lock-lost', { code: 'LOGS_SYNC_LOCK_LOST', message: (lost ?? (err as Error)).message });
    }
    if (opts.signal?.aborted) return finish('aborted');
    const code = err instanceof ServiceError ? err.code : 'LOGS_SYNC_FAILED';
    return finish('error', { code, message: errorMessage(err) });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await fh?.close();
    await release().catch(() => undefined); // already released if compromised
  }
}

async function acquire(
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
async function readTail(
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
      if (window > MAX_LINE_BYTES) {
        throw new ServiceError('LOGS_SYNC_TARGET_CORRUPT', 500, 'last line is too long');
      }
      continue;
    }
    if (lastNl === -1) return { completeEnd: 0, lastLine: null };
    return { completeEnd: start + lastNl + 1, lastLine: buf.subarray(prevNl + 1, lastNl).toString('utf8') };
  }
}

function parseRecordLine(line: string): SyncedRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    value = undefined;
  }
  const record = toRecord(value);
  if (!record) {
    // A complete line we cannot read was not written by a syncer; guessing a cursor could duplicate or skip.
    throw new ServiceError(
      'LOGS_SYNC_TARGET_CORRUPT',
      500,
      `the last complete line is not a record: ${line.slice(0, 120)}`,
    );
  }
  return record;
}

/** Keeps exactly the record shape, in a fixed key order, so every syncer writes identical bytes. */
function toRecord(value: unknown): SyncedRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, created, log } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id === '' || typeof created !== 'string') return undefined;
  if (typeof log !== 'object' || log === null) return undefined;
  const { ip, method, uri, status_code } = log as Record<string, unknown>;
  if (typeof ip !== 'string' || typeof method !== 'string' || typeof uri !== 'string') return undefined;
  if (typeof status_code !== 'number') return undefined;
  return { id, created, log: { ip, method, uri, status_code } };
}

async function fetchPage(
  opts: SyncOnceOptions,
  cursor: string | null,
  limit: number,
  signal: AbortSignal,
): Promise<SyncedRecord[] | 'cursor-not-found'> {
  const url = new URL(`${opts.source.replace(/\/+$/, '')}/api/data`);
  if (cursor !== null) url.searchParams.set('id', cursor);
  url.searchParams.set('limit', String(limit));
  const timeout = opts.timeoutMs ?? 10_000;
  const res = await request(url, {
    signal,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  if (res.statusCode === 404 && cursor !== null) {
    await res.body.dump();
    return 'cursor-not-found';
  }
  if (res.statusCode !== 200) {
    const detail = (await res.body.text()).slice(0, 200);
    throw new ServiceError('LOGS_SYNC_SOURCE_ERROR', 502, `GET ${url} answered ${res.statusCode}: ${detail}`);
  }
  const body: unknown = await res.body.json();
  if (!Array.isArray(body)) {
    throw new ServiceError('LOGS_SYNC_SOURCE_ERROR', 502, `GET ${url} did not return an array`);
  }
  const page = body.map(toRecord);
  const bad = page.indexOf(undefined);
  if (bad !== -1) {
    throw new ServiceError('LOGS_SYNC_SOURCE_ERROR', 502, `GET ${url}: item ${bad} is not a record`);
  }
  const records = page as SyncedRecord[];
  // A source that repeated the cursor would make us write a duplicate; refuse the page instead.
  if (records.some((r) => r.id === cursor) || records.length > limit) {
    throw new ServiceError('LOGS_SYNC_SOURCE_ERROR', 502, `GET ${url} broke the ?id=&limit= contract`);
  }
  return records;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

function lag(created: string): number | null {
  const t = Date.parse(created);
  return Number.isNaN(t) ? null : Math.max(0, Date.now() - t);
}

/** Logs a problem once when it starts and once when it clears, not every interval. */
function logReport(
  logger: SyncLogger,
  file: string,
  report: SyncReport,
  previous: string | undefined,
): string | undefined {
  const problem = report.error ? `${report.error.code}:${report.lastId}` : undefined;
  const fields = { file, ...report };
  if (problem === undefined) {
    if (previous !== undefined) logger.info(fields, 'log sync recovered');
    if (report.repairedBytes > 0) {
      logger.warn(fields, 'log sync cut a torn last line (a writer died mid-write)');
    }
    if (report.fetched > 0 || report.repairedBytes > 0) logger.info(fields, 'log sync appended records');
    else logger.debug(fields, `log sync: ${report.outcome === 'synced' ? 'up to date' : report.outcome}`);
    return undefined;
  }
  if (problem === previous) logger.debug(fields, 'log sync still failing');
  else if (report.outcome === 'cursor-not-found') logger.error(fields, report.error!.message);
  else logger.warn(fields, `log sync failed: ${report.error!.message}`);
  return problem;
}
