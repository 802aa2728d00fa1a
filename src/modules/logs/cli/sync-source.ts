/**
 * The syncer's side of the API: pages of records after a cursor (`GET /api/data?id=&limit=`) and the
 * position report (`PUT /api/data/syncers/<name>`).
 */
import { type Dispatcher, request } from 'undici';
import { SyncError } from './sync-errors';
import { type SyncedRecord, toRecord } from './sync-record';

export interface SourceOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:8000. */
  source: string;
  /** Per-request timeout (ms, default 10 000). */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** What a syncer reports after each successful cycle. */
export interface PositionReport {
  target_file: string;
  /** The file's last record, null while it is empty. */
  last_id: string | null;
  /** Records this syncer process appended since it started (other syncers on the file count apart). */
  records_written: number;
}

const REPORT_TIMEOUT_MS = 2000;

const base = (source: string) => source.replace(/\/+$/, '');

/**
 * Up to `limit` records after `cursor` (from the start when null); 'cursor-not-found' when the source
 * does not know the cursor. Anything off-contract throws LOGS_SYNC_SOURCE_ERROR rather than risk a
 * duplicate or a gap in the file.
 */
export async function fetchPage(
  opts: SourceOptions,
  cursor: string | null,
  limit: number,
  signal: AbortSignal,
): Promise<SyncedRecord[] | 'cursor-not-found'> {
  const url = new URL(`${base(opts.source)}/api/data`);
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
    throw new SyncError('LOGS_SYNC_SOURCE_ERROR', `GET ${url} answered ${res.statusCode}: ${detail}`);
  }
  const body: unknown = await res.body.json();
  if (!Array.isArray(body)) {
    throw new SyncError('LOGS_SYNC_SOURCE_ERROR', `GET ${url} did not return an array`);
  }
  const page = body.map(toRecord);
  const bad = page.indexOf(undefined);
  if (bad !== -1) {
    throw new SyncError('LOGS_SYNC_SOURCE_ERROR', `GET ${url}: item ${bad} is not a record`);
  }
  const records = page as SyncedRecord[];
  // A source that repeated the cursor would make us write a duplicate; refuse the page instead.
  if (records.some((r) => r.id === cursor) || records.length > limit) {
    throw new SyncError('LOGS_SYNC_SOURCE_ERROR', `GET ${url} broke the ?id=&limit= contract`);
  }
  return records;
}

/**
 * PUT the position. Any failure is the dashboard's loss only, so it is handed to `onFailure` (the
 * syncer logs it at debug) and never thrown.
 */
export async function reportPosition(
  opts: SourceOptions & { name: string },
  dispatcher: Dispatcher,
  position: PositionReport,
  onFailure: (fields: object, message: string) => void,
): Promise<void> {
  const url = `${base(opts.source)}/api/data/syncers/${encodeURIComponent(opts.name)}`;
  const timeout = Math.min(opts.timeoutMs ?? REPORT_TIMEOUT_MS, REPORT_TIMEOUT_MS);
  try {
    const res = await request(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(position),
      dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      // No abort signal: the report of the last cycle before a graceful stop is still sent.
    });
    const detail = (await res.body.text()).slice(0, 200);
    if (res.statusCode >= 300) {
      onFailure({ url, status: res.statusCode, detail }, 'log sync: position report refused');
    }
  } catch (err) {
    onFailure(
      { url, err: err instanceof Error ? err.message : String(err) },
      'log sync: position report failed',
    );
  }
}
