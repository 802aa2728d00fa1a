/**
 * Micro-batching writer: callers `write(row)` and get a promise that settles only after the batch
 * holding their row has committed (acknowledged = durable). Rows flush as one statement (the
 * module's `flush`, typically `INSERT ... SELECT * FROM unnest($1::text[], ...)`) when `maxRows`
 * are queued or `maxDelayMs` after the first queued row. Measured on 2 cores: ~12k durable req/s
 * batched vs 3.6-7k with one INSERT per request.
 *
 * The queue is bounded: beyond `maxQueue` waiting rows, `write` rejects at once with a 503
 * ServiceError (overload) rather than letting memory and latency grow without limit.
 * A failed flush rejects exactly the callers whose rows were in that batch; when the database is
 * unreachable (503) the rows queued behind it are rejected at once as well.
 */
import { ServiceError, unavailable } from './errors';

export interface BatchWriterOptions<Row, Result> {
  name: string;
  /** Persists rows in one round trip and returns one result per row, in order. */
  flush: (rows: Row[]) => Promise<Result[]>;
  maxRows?: number;
  maxDelayMs?: number;
  maxQueue?: number;
  /** Concurrent flushes; 1 keeps rows in arrival order (needed by ordered cursors). */
  concurrency?: number;
  onFlush?: (info: { rows: number; ms: number; ok: boolean }) => void;
}

interface Pending<Row, Result> {
  row: Row;
  resolve: (r: Result) => void;
  reject: (e: unknown) => void;
}

export class BatchWriter<Row, Result = void> {
  private queue: Pending<Row, Result>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly maxQueue: number;
  private readonly concurrency: number;

  constructor(private readonly opts: BatchWriterOptions<Row, Result>) {
    this.maxRows = opts.maxRows ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 2;
    this.maxQueue = opts.maxQueue ?? 50_000;
    this.concurrency = opts.concurrency ?? 1;
  }

  get queued(): number {
    return this.queue.length;
  }

  write(row: Row): Promise<Result> {
    if (this.closed) return Promise.reject(unavailable('SHUTTING_DOWN', 'The server is shutting down', 1));
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(
        unavailable('OVERLOADED', `The ${this.opts.name} write queue is full; retry shortly`, 1),
      );
    }
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  /** Writes many rows as one caller; resolves when all have committed. */
  writeMany(rows: Row[]): Promise<Result[]> {
    if (this.queue.length + rows.length > this.maxQueue && this.queue.length > 0) {
      return Promise.reject(
        unavailable('OVERLOADED', `The ${this.opts.name} write queue is full; retry shortly`, 1),
      );
    }
    return Promise.all(rows.map((r) => this.writeUnbounded(r)));
  }

  private writeUnbounded(row: Row): Promise<Result> {
    if (this.closed) return Promise.reject(unavailable('SHUTTING_DOWN', 'The server is shutting down', 1));
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.concurrency) return; // the running flush picks the queue up when done
    if (this.queue.length >= this.maxRows) {
      this.clearTimer();
      void this.flushOnce();
    } else if (!this.timer && this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flushOnce();
      }, this.maxDelayMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async flushOnce(): Promise<void> {
    if (this.queue.length === 0 || this.inFlight >= this.concurrency) return;
    const batch = this.queue.splice(0, this.maxRows);
    this.inFlight++;
    const t0 = performance.now();
    try {
      const results = await this.opts.flush(batch.map((p) => p.row));
      if (results.length !== batch.length) {
        throw new Error(
          `${this.opts.name} flush returned ${results.length} results for ${batch.length} rows`,
        );
      }
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
      this.opts.onFlush?.({ rows: batch.length, ms: performance.now() - t0, ok: true });
    } catch (e) {
      const err =
        e instanceof ServiceError ? e : new ServiceError('WRITE_FAILED', 500, 'Writing failed', { cause: e });
      // The database is unreachable: rows queued behind this batch would only wait for the same
      // timeout, so they fail now too (fast 503s) instead of queueing up.
      const failed = err.status === 503 ? batch.concat(this.queue.splice(0)) : batch;
      for (const p of failed) p.reject(err);
      this.opts.onFlush?.({ rows: batch.length, ms: performance.now() - t0, ok: false });
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) {
        // Rows that arrived during the flush go out now: they have already waited a round trip
        // (group commit). Only an idle writer waits maxDelayMs for company.
        this.clearTimer();
        void this.flushOnce();
      } else if (this.inFlight === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  /** Flushes everything queued and waits for in-flight batches. */
  async drain(): Promise<void> {
    this.clearTimer();
    while (this.queue.length > 0 || this.inFlight > 0) {
      if (this.queue.length > 0 && this.inFlight < this.concurrency) void this.flushOnce();
      await new Promise<void>((r) => this.idleWaiters.push(r));
    }
  }

  /** Stops accepting rows, then drains. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }
}
