/**
 * Access-log ingest and cursor reads. Transport-agnostic: it takes lines and throws error kinds; the
 * routes decode requests, choose statuses and render problems.
 */
import { BatchWriter } from '../../platform/batch-writer';
import { invalidInput, notFound } from '../../platform/errors';
import type { BatchSettings, FlushObserver } from '../../platform/ingest';
import { uuidv7 } from '../../platform/uuid';
import { parseLogLine } from './log-line';
import type { LogsStore } from './logs.store';
import type { BatchOutcome, Cursor, LogEntry, NewLogRecord } from './model';

const PAGE = 2000;

export interface LogsServiceDeps {
  store: LogsStore;
  /** One batch at a time (`ordered`): all writers share one lane on the database (see logs.store.ts). */
  batch: BatchSettings;
  onAccepted?: (n: number) => void;
  /** A line or request was rejected; `reason` is the field at fault (see LogField) or `body`. */
  onRejected?: (reason: string) => void;
  onFlush?: FlushObserver;
}

export function createLogsService(deps: LogsServiceDeps) {
  const { store } = deps;
  const writer = new BatchWriter<NewLogRecord, Date>({
    name: 'logs',
    flush: (rows) => store.insert(rows),
    ...deps.batch,
    onFlush: deps.onFlush,
  });

  /** The parsed line, or an input error naming the part of the line that failed ("log: ip ..."). */
  function parse(line: string): LogEntry {
    const parsed = parseLogLine(line);
    if (parsed.ok) return parsed.value;
    deps.onRejected?.(parsed.field);
    throw invalidInput('log', parsed.detail, 'LOGS_INVALID_LINE');
  }

  return {
    /** Parses and stores one line; resolves after it is committed. */
    async ingest(line: string): Promise<{ id: string; created: Date }> {
      const log = parse(line);
      const id = uuidv7();
      const created = await writer.write({ id, log });
      deps.onAccepted?.(1);
      return { id, created };
    },

    /** Stores the valid lines of a batch in one transaction; reports the rejected ones by index. */
    async ingestBatch(lines: string[]): Promise<BatchOutcome> {
      const rows: NewLogRecord[] = [];
      const rejected: BatchOutcome['rejected'] = [];
      lines.forEach((line, index) => {
        try {
          rows.push({ id: uuidv7(), log: parse(line) });
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
      if (!cursor) throw notFound('LOGS_RECORD_NOT_FOUND', `id: no record with id ${afterId}`);
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

    /** Counts input refused before it reached `ingest` (bad JSON, schema, size, a batch item's shape). */
    rejected(reason: string): void {
      deps.onRejected?.(reason);
    },

    reportSyncer: store.reportSyncer,
    syncers: store.syncers,
    close: () => writer.close(),
  };
}

export type LogsService = ReturnType<typeof createLogsService>;
