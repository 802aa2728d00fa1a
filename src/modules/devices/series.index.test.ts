/**
 * Property: a series answered bucket by bucket from the rollups and the median index (the path for
 * large periods, forced here for any size) equals the series sorted in one statement (the oracle):
 * the same bucket bounds, counts, minima, maxima and medians, means within float rounding; with the
 * index brought up to date after some batches and not others (late readings unindexed), values with
 * ties and sums that round, and periods open or closed, on readings, hour or minute boundaries.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { createAggregatesStore } from './aggregates.store';
import { createDevicesModule } from './index';
import { createMedianIndex, type MedianIndex } from './median.index';
import { createSeriesStore } from './series.store';
import { boundArb, roundsArb, STRICT, T0, TINY_INDEX, toPeriod, wire } from './test-arbitraries';

let app: TestApp;
let index: MedianIndex;
/** How many series the app answered per bucket (the path under test). */
let perBucketCalls = 0;

beforeAll(async () => {
  app = await buildTestApp({
    modules: [
      (deps) =>
        createDevicesModule(deps, {
          seriesIndexMinPerBucket: 0,
          aggregatesStore: (db) => {
            const store = createAggregatesStore(db, STRICT);
            return {
              ...store,
              forPeriods: (...args) => {
                perBucketCalls++;
                return store.forPeriods(...args);
              },
            };
          },
        }),
    ],
  });
  index = createMedianIndex(app.db, TINY_INDEX);
});

const rounds = roundsArb(9, 4);
let serial = 0;
/** Cases whose device had an index (so the series came per bucket). */
let indexedCases = 0;

describe('device series from the median index', () => {
  it('equals the sorted series, bucket by bucket', async () => {
    const sorted = createSeriesStore(app.db);
    await fc.assert(
      fc.asyncProperty(
        rounds.chain((rs) => {
          const times = rs.flatMap((r) => r.batch.map((x) => x.ts));
          const bound = boundArb(times, 9);
          return fc.tuple(
            fc.constant(rs),
            fc.array(fc.tuple(bound, bound), { minLength: 1, maxLength: 3 }),
            fc.integer({ min: 1, max: 12 }),
          );
        }),
        async ([rs, bounds, n]) => {
          const deviceId = `series-index-${++serial}`;
          for (const round of rs) {
            const payload = round.batch.map((r) => ({
              device_id: deviceId,
              ...r,
              ts: new Date(T0 + r.ts).toISOString(),
            }));
            const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
            expect(res.statusCode).toBe(201);
            if (round.index) await index.update(deviceId);
          }
          // Indexed when an update ran and found its readings final: on PostgreSQL a neighbour's open
          // transaction may hold the index's bound back (see the module README), leaving it unbuilt.
          const layouts = await app.db.query('SELECT 1 FROM devices.median_layouts WHERE device_id = $1', [
            deviceId,
          ]);
          const indexed = layouts.length > 0;
          if (indexed) indexedCases++;
          for (const period of bounds.map(toPeriod)) {
            const query = new URLSearchParams({ buckets: String(n) });
            if (period.start) query.set('start_date', period.start.toISOString());
            if (period.end) query.set('end_date', period.end.toISOString());
            const calls = perBucketCalls;
            const res = await app.http.inject({ method: 'GET', url: `/devices/${deviceId}/series?${query}` });
            expect(res.statusCode).toBe(200);
            const got = res.json();
            if (got.period === null) {
              expect(got.buckets).toEqual([]);
              continue;
            }
            expect(perBucketCalls - calls).toBe(indexed ? 1 : 0);
            const [start, end] = [new Date(got.period.start), new Date(got.period.end)];
            const want = await sorted.buckets(deviceId, start, end, n);
            expect(got.buckets).toHaveLength(n);
            got.buckets.forEach((b: Record<string, unknown>, i: number) => {
              const w = want[i]!;
              expect([b.start, b.end, b.count]).toEqual([
                w.start.toISOString(),
                w.end.toISOString(),
                w.count,
              ]);
              for (const q of ['value', 'x', 'y', 'z'] as const) {
                if (!w.stats) {
                  expect(b[q]).toBeNull();
                  continue;
                }
                const [g, s] = [b[q] as Record<string, number>, w.stats[q]];
                expect([g.min, g.max, g.median]).toEqual([s.min, s.max, s.median].map(wire));
                // Sums in another order: within n·2⁻⁵³ of the largest magnitude (n ≤ 160 here).
                const scale = Math.max(1, Math.abs(s.min), Math.abs(s.max));
                expect(Math.abs(g.mean! - s.mean)).toBeLessThanOrEqual(1e-12 * scale);
              }
            });
          }
        },
      ),
      { numRuns: 25 },
    );
    // PGlite has one connection, so nothing holds an index back there: the path under test ran.
    if (!process.env.DATABASE_URL) expect(indexedCases).toBeGreaterThan(0);
  });
});
