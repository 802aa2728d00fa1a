/**
 * The ingest wiring every module repeats: BatchWriter settings from config, and the standard flush
 * histogram `telelab_<module>_batch_flush_seconds{ok}`.
 */
import type { BatchWriterOptions } from './batch-writer';
import { histogram } from './metrics';
import type { ModuleDeps } from './module';

/** What a service passes on to `new BatchWriter({ ..., ...batch })`. */
export type BatchSettings = Required<
  Pick<BatchWriterOptions<unknown, unknown>, 'maxRows' | 'maxDelayMs' | 'maxQueue' | 'concurrency'>
>;

export type FlushObserver = NonNullable<BatchWriterOptions<unknown, unknown>['onFlush']>;

const FLUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * BATCH_MAX_ROWS / BATCH_MAX_DELAY_MS / BATCH_MAX_QUEUE, and how many batches commit at once. PGlite has
 * one connection, so a second batch would only queue behind the first. On PostgreSQL a commit waits for
 * its WAL flush and batches committing together share it (group commit): up to 4 in flight beat 1 and 2
 * and matched 8 with 64 clients on 2 cores. `ordered` keeps one batch at a time, rows in arrival order.
 */
export function batchSettings(
  deps: Pick<ModuleDeps, 'config' | 'db'>,
  opts: { ordered?: boolean } = {},
): BatchSettings {
  const { config, db } = deps;
  return {
    maxRows: config.BATCH_MAX_ROWS,
    maxDelayMs: config.BATCH_MAX_DELAY_MS,
    maxQueue: config.BATCH_MAX_QUEUE,
    concurrency: opts.ordered || db.kind !== 'postgres' ? 1 : 4,
  };
}

/** Registers `telelab_<module>_batch_flush_seconds{ok}` and returns the BatchWriter `onFlush` that feeds it. */
export function flushMetric(deps: Pick<ModuleDeps, 'metrics'>, module: string, help: string): FlushObserver {
  const seconds = histogram(
    deps.metrics,
    `telelab_${module}_batch_flush_seconds`,
    help,
    ['ok'],
    FLUSH_BUCKETS,
  );
  return ({ ms, ok }) => seconds.observe({ ok: String(ok) }, ms / 1000);
}

/** Both: spread into a service's deps (`createXService({ ..., ...ingestBatch(deps, 'x', { help }) })`). */
export function ingestBatch(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'metrics'>,
  module: string,
  opts: { help: string; ordered?: boolean },
): { batch: BatchSettings; onFlush: FlushObserver } {
  return { batch: batchSettings(deps, opts), onFlush: flushMetric(deps, module, opts.help) };
}
