/**
 * Domain types of the logs module, shared by its parser, store, service, routes and programs.
 *
 * A parsed line keeps the names of the line grammar (`status_code`): they are the names error details
 * and the rejection metric's `reason` label use, and the names of the record on the wire.
 */

/** The nine RFC 9110 methods, upper case: the only ones a line may carry. */
export const LOG_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;
export type LogMethod = (typeof LOG_METHODS)[number];

/** One access-log line, parsed: `<IP> <METHOD> <URI> <STATUS>`. */
export interface LogEntry {
  ip: string;
  method: LogMethod;
  uri: string;
  status_code: number;
}

/** The part of a line (or the whole line, `log`) a rejection names. */
export type LogField = 'log' | 'ip' | 'method' | 'uri' | 'status_code';

/** A record about to be stored: its id is drawn before the insert, its time by the database. */
export interface NewLogRecord {
  id: string;
  log: LogEntry;
}

/** A position in the order every reader shares (the record's sequence number). */
export interface Cursor {
  seq: number;
}

/** What a batch ingest stored, and which items it rejected (by index, with why). */
export interface BatchOutcome {
  accepted: number;
  ids: string[];
  rejected: { index: number; detail: string }[];
}

/** A syncer's name as the API accepts it (checked by the CLI too, before it starts syncing). */
export const SYNCER_NAME = /^[A-Za-z0-9._:-]{1,64}$/;

/** Where a syncer is, as it last reported, with how many records it has not written yet. */
export interface SyncerPosition {
  name: string;
  targetFile: string;
  lastId: string | null;
  recordsWritten: number;
  reportedAt: Date;
  /** Records after its last one (null when the source does not know that record). */
  lag: number | null;
}
