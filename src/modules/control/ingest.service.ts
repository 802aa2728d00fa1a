/**
 * Sensor readings in: validate the datetime, apply the task's outdated rule, store through a
 * BatchWriter (answered after commit). Transport-agnostic: the route translates HTTP.
 *
 * It also keeps a small barrier for the decision loop: how many accepted readings of each window are
 * still on their way to the database. A reading older than the current window is refused as outdated,
 * so once t_k has passed no new reading can join a window before t_k, and the loop can wait for those
 * counts to reach zero instead of guessing a grace period. (Readings accepted by other API processes are
 * not covered: those commit within a few ms of t_k and may miss the decision; they are still stored.)
 */
import { BatchWriter } from '../../platform/batch-writer';
import { invalidInput } from '../../platform/errors';
import type { BatchSettings, FlushObserver } from '../../platform/ingest';
import type { Clock } from '../../platform/module';
import type { NewReading } from './model';
import type { ReadingsStore } from './readings.store';
import { isOutdated, parseSensorDatetime, windowFor } from './windows';

/** A sensor clock this far ahead is wrong, not skewed; storing its readings would pollute a window far ahead. */
const MAX_FUTURE_MS = 60 * 60 * 1000;

export type IngestResult = { accepted: true } | { accepted: false; reason: 'outdated' };

export interface IngestServiceDeps {
  store: Pick<ReadingsStore, 'insertReadings'>;
  clock: Clock;
  intervalMs: number;
  batch: BatchSettings;
  onAccepted?: () => void;
  onOutdated?: () => void;
  onRejected?: (field: string) => void;
  onFlush?: FlushObserver;
}

export function createIngestService(deps: IngestServiceDeps) {
  const { clock, intervalMs } = deps;
  const writer = new BatchWriter<NewReading>({
    name: 'control readings',
    flush: async (rows) => {
      await deps.store.insertReadings(rows, new Date(clock.now()));
      return rows.map(() => undefined);
    },
    ...deps.batch,
    onFlush: deps.onFlush,
  });

  /** Accepted readings not yet committed, by window start (ms). */
  const pending = new Map<number, number>();
  let waiters: { beforeMs: number; resolve: () => void }[] = [];
  const pendingBefore = (beforeMs: number) => {
    let n = 0;
    for (const [start, count] of pending) if (start < beforeMs) n += count;
    return n;
  };
  const settle = (windowStart: number) => {
    const left = (pending.get(windowStart) ?? 0) - 1;
    if (left > 0) pending.set(windowStart, left);
    else pending.delete(windowStart);
    if (waiters.length === 0) return;
    waiters = waiters.filter((w) => {
      if (pendingBefore(w.beforeMs) > 0) return true;
      w.resolve();
      return false;
    });
  };

  const reject = (field: string, code: string, message: string): never => {
    deps.onRejected?.(field);
    throw invalidInput(field, message, code);
  };

  return {
    /** Stores one reading; resolves after commit, or at once with outdated. */
    async ingest(input: { datetime: string; payload: number }): Promise<IngestResult> {
      const at = parseSensorDatetime(input.datetime);
      if (!at) {
        return reject(
          'datetime',
          'CONTROL_INVALID_DATETIME',
          'must be ISO 8601 date and time, e.g. 2024-05-01T12:00:05 (fraction and offset optional; no offset = UTC)',
        );
      }
      const now = clock.now();
      if (at.getTime() > now + MAX_FUTURE_MS) {
        return reject(
          'datetime',
          'CONTROL_DATETIME_IN_FUTURE',
          `more than ${MAX_FUTURE_MS / 60_000} minutes ahead of the controller's clock (${new Date(now).toISOString()})`,
        );
      }
      if (isOutdated(at, now, intervalMs)) {
        deps.onOutdated?.();
        return { accepted: false, reason: 'outdated' };
      }
      const windowStart = windowFor(at, intervalMs).start.getTime();
      pending.set(windowStart, (pending.get(windowStart) ?? 0) + 1);
      try {
        await writer.write({ datetime: at, payload: input.payload });
      } finally {
        settle(windowStart);
      }
      deps.onAccepted?.();
      return { accepted: true };
    },

    /**
     * Resolves once every reading this process accepted with a datetime before `beforeMs` is committed
     * (or failed), or after `timeoutMs`; true when settled.
     */
    waitForWritesBefore(beforeMs: number, timeoutMs: number): Promise<boolean> {
      if (pendingBefore(beforeMs) === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = {
          beforeMs,
          resolve: () => {
            clearTimeout(timer);
            resolve(true);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeoutMs);
        waiters.push(waiter);
      });
    },

    /** Counts input the HTTP layer refused before `ingest` ran (schema, JSON, size), by field. */
    rejected(field: string): void {
      deps.onRejected?.(field);
    },

    close: () => writer.close(),
  };
}

export type IngestService = ReturnType<typeof createIngestService>;
