import { describe, expect, it } from 'vitest';
import { createIngestService } from './ingest.service';
import type { NewReading } from './model';
import { fakeClock, T0 } from './test-support';

const I = 5000;

/** A store whose inserts wait until released, to hold readings "in flight". */
function gatedStore() {
  const inserted: NewReading[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    inserted,
    open: () => release(),
    store: {
      insertReadings: async (rows: readonly NewReading[]) => {
        await gate;
        inserted.push(...rows);
      },
    },
  };
}

function service(store: ReturnType<typeof gatedStore>['store'], clock = fakeClock(T0 + 4000)) {
  return createIngestService({
    store,
    clock,
    intervalMs: I,
    batch: { maxRows: 100, maxDelayMs: 0, maxQueue: 1000, concurrency: 1 },
  });
}

describe('waitForWritesBefore (the decision barrier)', () => {
  it('resolves at once when nothing before t_k is in flight', async () => {
    const g = gatedStore();
    g.open();
    expect(await service(g.store).waitForWritesBefore(T0 + I, 1000)).toBe(true);
  });

  it('waits until readings of the closed window accepted before t_k are committed', async () => {
    const g = gatedStore();
    const svc = service(g.store);
    const ingest = svc.ingest({ datetime: '2030-01-01T00:00:03', payload: 1 });
    let settled = false;
    const barrier = svc.waitForWritesBefore(T0 + I, 5000).then((ok) => {
      settled = true;
      return ok;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    g.open();
    expect(await ingest).toEqual({ accepted: true });
    expect(await barrier).toBe(true);
    expect(g.inserted).toHaveLength(1);
  });

  it('does not wait for readings of a later window', async () => {
    const g = gatedStore();
    const svc = service(g.store);
    const later = svc.ingest({ datetime: '2030-01-01T00:00:06', payload: 1 });
    expect(await svc.waitForWritesBefore(T0 + I, 1000)).toBe(true);
    g.open();
    await later;
  });

  it('gives up after the timeout and reports it', async () => {
    const g = gatedStore();
    const svc = service(g.store);
    const ingest = svc.ingest({ datetime: '2030-01-01T00:00:01', payload: 1 });
    expect(await svc.waitForWritesBefore(T0 + I, 30)).toBe(false);
    g.open();
    await ingest;
  });
});

describe('ingest', () => {
  it('never hands an outdated reading to the store', async () => {
    const g = gatedStore();
    g.open();
    const svc = service(g.store, fakeClock(T0 + I));
    expect(await svc.ingest({ datetime: '2030-01-01T00:00:04.999', payload: 1 })).toEqual({
      accepted: false,
      reason: 'outdated',
    });
    await svc.close();
    expect(g.inserted).toEqual([]);
  });
});
