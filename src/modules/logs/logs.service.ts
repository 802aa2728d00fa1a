/**
 * Access-log ingest and cursor reads (seed 004). Transport-agnostic: routes translate HTTP.
 */

import { BatchWriter } from '../../platform/batch-writer';
import { ServiceError } from '../../platform/errors';
import { uuidv7 } from '../../platform/uuid';
import { type LogEntry, parseLogLine } from './log-line';
import type { Cursor, LogsStore, NewLogRecord } from './logs.store';

/** The seed's table answers 418 for anything it cannot store. */
export const INVALID_STATUS = 418;
const PAGE = 2000;

export interface LogsServiceDeps {
  store: LogsStore;
  batch: { maxRows: number; maxDelayMs: number; maxQueue: number };
  onAccepted?: (n: number) => void;
  onRejected?: (field: string) => void;
  onFlush?: (info: { rows: number; ms: number; ok: boolean }) => void;
}

export interface BatchOutcome {
  accepted: number;
  ids: string[];
  rejected: { index: number; detail: string }[];
}

export function createLogsService(deps: LogsServiceDeps) {
  const { store } = deps;
  // One flush at a time: all writers share one lane on the database anyway (WRITER_LANE_LOCK), so a
  // second concurrent flush from this process would only wait for the lock.
  const writer = new BatchWriter<NewLogRecord, Date>({
    name: 'logs',
    flush: (rows) => store.insert(rows),
    ...deps.batch,
    concurrency: 1,
    onFlush: deps.onFlush,
  });

  function parse(item: unknown): LogEntry {
    // The NDJSON body parser hands over a SyntaxError for a line that is not JSON.
    if (item instanceof SyntaxError) {
      deps.onRejected?.('body');
      throw new ServiceError('LOGS_INVALID_JSON', INVALID_STATUS, `body: ${item.message}`);
    }
    const line = (item as { log?: unknown } | null)?.log;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      deps.onRejected?.('body');
      throw new ServiceError(
        'LOGS_INVALID_BODY',
        INVALID_STATUS,
        'body: expected a JSON object {"log": "..."}',
      );
    }
    if (line === undefined) {
      deps.onRejected?.('log');
      throw new ServiceError('LOGS_INVALID_LINE', INVALID_STATUS, 'log: required field is missing');
    }
    if (typeof line !== 'string') {
      deps.onRejected?.('log');
      throw new ServiceError(
        'LOGS_INVALID_LINE',
        INVALID_STATUS,
        `log: must be a string, got ${typeName(line)}`,
      );
    }
    const extra = Object.keys(item).filter((k) => k !== 'log');
    if (extra.length > 0) {
      deps.onRejected?.('body');
      throw new ServiceError(
        'LOGS_INVALID_BODY',
        INVALID_STATUS,
        `body.${extra[0]}: unknown field (not allowed)`,
      );
    }
    const parsed = parseLogLine(line);
    if (!parsed.ok) {
      deps.onRejected?.(parsed.field);
      throw new ServiceError('LOGS_INVALID_LINE', INVALID_STATUS, `log: ${parsed.detail}`);
    }
    return parsed.value;
  }

  return {
    /** Parses and stores one line; resolves after it is committed. */
    async ingest(item: unknown): Promise<{ id: string; created: Date }> {
      const log = parse(item);
      const id = uuidv7();
      const created = await writer.write({ id, log });
      deps.onAccepted?.(1);
      return { id, created };
    },

    /** Stores the valid items of a batch in one transaction; reports the rejected ones by index. */
    async ingestBatch(items: unknown[]): Promise<BatchOutcome> {
      const rows: NewLogRecord[] = [];
      const rejected: BatchOutcome['rejected'] = [];
      items.forEach((item, index) => {
        try {
          rows.push({ id: uuidv7(), log: parse(item) });
        } catch (e) {
          rejected.push({ index, detail: (e as Error).message });
        }
      });
      // All or nothing: a client retrying a failed batch must not find half of it already stored.
      await store.insertAll(rows);
      deps.onAccepted?.(rows.length);
      return { accepted: rows.length, ids: rows.map((r) => r.id), rejected };
    },

    /** Resolves the cursor first so an unknown id fails before any response is streamed. */
    async openCursor(afterId: string | undefined): Promise<Cursor | null> {
      if (afterId === undefined) return null;
      const cursor = await store.cursorOf(afterId);
      if (!cursor) throw new ServiceError('LOGS_RECORD_NOT_FOUND', 404, `id: no record with id ${afterId}`);
      return cursor;
    },

    /**
     * Records after the cursor in the order every reader shares, page by page (constant memory),
     * up to the newest record at the start, so one response is one consistent prefix. Each record comes
     * as its JSON text (see LogsStore.page).
     */
    async *records(cursor: Cursor | null, limit: number): AsyncGenerator<string> {
      const upTo = await store.newestSeq();
      let after = cursor;
      let left = limit;
      while (left > 0) {
        const page = await store.page(after, upTo, Math.min(PAGE, left));
        for (const r of page) yield r.json;
        if (page.length < Math.min(PAGE, left)) return;
        left -= page.length;
        const last = page[page.length - 1]!;
        after = { seq: last.seq };
      }
    },

    /** Counts input the HTTP layer refused before it reached `ingest` (bad JSON, schema, size). */
    rejected(reason: string): void {
      deps.onRejected?.(reason);
    },

    reportSyncer: store.reportSyncer,
    syncers: store.syncers,
    count: store.count,
    close: () => writer.close(),
  };
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

export type LogsService = ReturnType<typeof createLogsService>;
