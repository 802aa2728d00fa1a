import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchWriter, type BatchWriterOptions } from './batch-writer';
import { ServiceError } from './errors';

/** A fake flush that records each batch and answers `r<row>`; `gate` holds a batch until released. */
function recorder(opts: { gate?: boolean; fail?: (rows: number[]) => unknown } = {}) {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  const flush = async (rows: number[]) => {
    batches.push([...rows]);
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      if (opts.gate) await new Promise<void>((r) => releases.push(r));
      else await Promise.resolve();
      const failure = opts.fail?.(rows);
      if (failure) throw failure;
      return rows.map((r) => `r${r}`);
    } finally {
      active--;
    }
  };
  return {
    flush,
    batches,
    releaseNext: () => releases.shift()?.(),
    get waiting() {
      return releases.length;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

function writer(
  flush: (rows: number[]) => Promise<string[]>,
  opts: Partial<BatchWriterOptions<number, string>> = {},
) {
  return new BatchWriter<number, string>({ name: 'test', flush, maxDelayMs: 60_000, ...opts });
}

/** Lets queued promise callbacks run (the fake flush awaits a few microtasks). */
const settle = () => new Promise<void>((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('BatchWriter', () => {
  it('flushes as soon as maxRows rows are queued, without waiting for the timer', async () => {
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 3 });
    const first = [w.write(1), w.write(2)];
    await settle();
    expect(rec.batches).toEqual([]);
    const third = w.write(3);
    await expect(Promise.all([...first, third])).resolves.toEqual(['r1', 'r2', 'r3']);
    expect(rec.batches).toEqual([[1, 2, 3]]);
  });

  it('flushes a partial batch maxDelayMs after the first row', async () => {
    vi.useFakeTimers();
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 100, maxDelayMs: 20 });
    const pending = [w.write(1), w.write(2)];
    await vi.advanceTimersByTimeAsync(10);
    pending.push(w.write(3)); // joins the batch; does not restart the clock
    await vi.advanceTimersByTimeAsync(9);
    expect(rec.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(rec.batches).toEqual([[1, 2, 3]]);
    await expect(Promise.all(pending)).resolves.toEqual(['r1', 'r2', 'r3']);
  });

  it('resolves each caller with the result of its own row', async () => {
    const w = writer(async (rows) => rows.map((r) => `id-of-${r}`), { maxRows: 4, maxDelayMs: 1 });
    const rows = [7, 3, 9, 1, 4, 8, 2, 6, 5, 0];
    const results = await Promise.all(rows.map((r) => w.write(r)));
    expect(results).toEqual(rows.map((r) => `id-of-${r}`));
  });

  it('hands rows to flush in arrival order, batch after batch', async () => {
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 3, maxDelayMs: 1 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => w.write(i)));
    expect(rec.batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(rec.batches.every((b) => b.length <= 3)).toBe(true);
  });

  it('with concurrency 1 runs one flush at a time and keeps order', async () => {
    const rec = recorder({ gate: true });
    const w = writer(rec.flush, { maxRows: 2, concurrency: 1 });
    const all = Array.from({ length: 7 }, (_, i) => w.write(i));
    await settle();
    expect(rec.batches).toEqual([[0, 1]]); // the rest wait for the first commit
    const closing = w.close();
    while (rec.waiting > 0) {
      rec.releaseNext();
      await settle();
    }
    await closing;
    await Promise.all(all);
    expect(rec.maxActive).toBe(1);
    expect(rec.batches).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
  });

  it('with concurrency 2 runs two flushes at once', async () => {
    const rec = recorder({ gate: true });
    const w = writer(rec.flush, { maxRows: 2, concurrency: 2 });
    const all = Array.from({ length: 6 }, (_, i) => w.write(i));
    await settle();
    expect(rec.batches).toEqual([
      [0, 1],
      [2, 3],
    ]);
    const closing = w.close();
    while (rec.waiting > 0) {
      rec.releaseNext();
      await settle();
    }
    await closing;
    await expect(Promise.all(all)).resolves.toHaveLength(6);
    expect(rec.maxActive).toBe(2);
  });

  it('rejects exactly the callers of a failed batch; earlier and later batches succeed', async () => {
    const cause = new Error('unique violation');
    const rec = recorder({ fail: (rows) => (rows.includes(666) ? cause : null) });
    const w = writer(rec.flush, { maxRows: 2, maxDelayMs: 1 });
    const outcomes = await Promise.allSettled([1, 2, 3, 666, 5, 6].map((r) => w.write(r)));
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const err = (outcomes[2] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ code: 'WRITE_FAILED', status: 500, cause });
    expect((outcomes[3] as PromiseRejectedResult).reason).toBe(err);
    await expect(w.write(7)).resolves.toBe('r7');
  });

  it('passes a ServiceError thrown by flush to the callers unchanged', async () => {
    const down = new ServiceError('DATABASE_UNAVAILABLE', 503, 'down', { retryAfter: 2 });
    const w = writer(
      async () => {
        throw down;
      },
      { maxRows: 1 },
    );
    await expect(w.write(1)).rejects.toBe(down);
  });

  it('rejects a batch whose flush returns the wrong number of results', async () => {
    const w = writer(async (rows) => rows.slice(1).map(String), { maxRows: 2 });
    const outcomes = await Promise.allSettled([w.write(1), w.write(2)]);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'WRITE_FAILED', status: 500 });
    }
  });

  it('rejects writes beyond maxQueue at once with a 503 OVERLOADED carrying retryAfter', async () => {
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 100, maxQueue: 3 });
    const accepted = [w.write(1), w.write(2), w.write(3)];
    const refused = w.write(4);
    await expect(refused).rejects.toBeInstanceOf(ServiceError);
    await expect(refused).rejects.toMatchObject({ status: 503, code: 'OVERLOADED' });
    const retryAfter = await refused.catch((e: ServiceError) => e.retryAfter);
    expect(retryAfter).toBeGreaterThan(0);
    expect(w.queued).toBe(3);
    await w.drain();
    await expect(Promise.all(accepted)).resolves.toEqual(['r1', 'r2', 'r3']);
    const later = w.write(5); // room again once flushed
    await w.close();
    await expect(later).resolves.toBe('r5');
  });

  it('writeMany resolves with every result once all rows have committed', async () => {
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 2, maxDelayMs: 1 });
    await expect(w.writeMany([1, 2, 3])).resolves.toEqual(['r1', 'r2', 'r3']);
    expect(rec.batches).toEqual([[1, 2], [3]]);
  });

  it('writeMany refuses a set of rows that would overflow a non-empty queue', async () => {
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 100, maxQueue: 4 });
    const first = w.write(1);
    await expect(w.writeMany([2, 3, 4, 5])).rejects.toMatchObject({ status: 503, code: 'OVERLOADED' });
    await w.close();
    await expect(first).resolves.toBe('r1');
  });

  it('drain flushes every queued row and waits for the batches in flight', async () => {
    const rec = recorder({ gate: true });
    const w = writer(rec.flush, { maxRows: 2 });
    const settled: number[] = [];
    const all = [1, 2, 3].map((r) => w.write(r).then(() => settled.push(r)));
    await settle();
    let drained = false;
    const draining = w.drain().then(() => {
      drained = true;
    });
    await settle();
    expect(drained).toBe(false); // [1, 2] is still in flight
    rec.releaseNext();
    await settle();
    expect(rec.batches).toEqual([[1, 2], [3]]); // [3] goes out without waiting maxDelayMs
    expect(drained).toBe(false);
    rec.releaseNext();
    await draining;
    await Promise.all(all);
    expect(settled.sort()).toEqual([1, 2, 3]);
    expect(w.queued).toBe(0);
  });

  it('close flushes what was accepted, then rejects new writes with 503 SHUTTING_DOWN', async () => {
    const rec = recorder();
    const w = writer(rec.flush, { maxRows: 100 });
    const accepted = [w.write(1), w.write(2)];
    await w.close();
    await expect(Promise.all(accepted)).resolves.toEqual(['r1', 'r2']);
    await expect(w.write(3)).rejects.toMatchObject({ status: 503, code: 'SHUTTING_DOWN' });
    await expect(w.writeMany([4])).rejects.toMatchObject({ status: 503, code: 'SHUTTING_DOWN' });
    expect(rec.batches).toEqual([[1, 2]]);
  });

  it('reports each flush to onFlush with its size and outcome', async () => {
    const seen: { rows: number; ok: boolean }[] = [];
    const w = new BatchWriter<number, number>({
      name: 'test',
      maxRows: 2,
      flush: async (rows) => {
        if (rows.includes(3)) throw new Error('boom');
        return rows;
      },
      onFlush: ({ rows, ok, ms }) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        seen.push({ rows, ok });
      },
    });
    await Promise.allSettled([1, 2, 3, 4].map((r) => w.write(r)));
    expect(seen).toEqual([
      { rows: 2, ok: true },
      { rows: 2, ok: false },
    ]);
  });
});
