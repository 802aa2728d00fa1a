/**
 * Property: the aggregates the API answers (rollups for whole hours, raw readings at the edges, exact
 * medians) equal those computed from the readings alone in one pass (the oracle, rawForDevice /
 * rawForOwner), for random devices, values (ties, negatives, 0.1-like sums that round), readings
 * spread over hours and sent late and out of order, and periods whose bounds fall on readings, on
 * hour boundaries, a millisecond beside them, or on nothing at all.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { createAggregatesStore } from './aggregates.store';
import { createDevicesModule } from './index';
import type { Aggregates, Period } from './model';
import { boundArb, readingArb, T0, toPeriod, wire } from './test-arbitraries';

let app: TestApp;
let oracle: ReturnType<typeof createAggregatesStore>;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
  oracle = createAggregatesStore(app.db);
});

const reading = readingArb(7);
/** Readings sent in several requests in any order (late ones land in old hours). */
const history = fc.array(fc.array(reading, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 5 });

const bound = (times: number[]) => boundArb(times, 7);

let serial = 0;

async function send(deviceId: string, batches: { x: number; y: number; z: number; ts: number }[][]) {
  for (const batch of batches) {
    const iso = (r: { ts: number }) => new Date(T0 + r.ts).toISOString();
    if (batch.length === 1) {
      const [r] = batch;
      const res = await app.http.inject({
        method: 'POST',
        url: `/devices/${deviceId}/data`,
        payload: { x: r!.x, y: r!.y, z: r!.z, ts: iso(r!) },
      });
      expect(res.statusCode).toBe(201);
    } else {
      const payload = batch.map((r) => ({ device_id: deviceId, x: r.x, y: r.y, z: r.z, ts: iso(r) }));
      const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
      expect(res.statusCode).toBe(201);
    }
  }
}

const query = (p: Period) => {
  const q = new URLSearchParams();
  if (p.start) q.set('start_date', p.start.toISOString());
  if (p.end) q.set('end_date', p.end.toISOString());
  return q.size ? `?${q}` : '';
};

/** Sums of doubles depend on the order of addition: equal within float8 rounding of the terms. */
function expectSum(actual: number, expected: number, scale: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(scale * 1e-12 + Number.MIN_VALUE);
}

interface StatBody {
  min: number;
  max: number;
  sum: number;
  median: number;
  count: number;
}
interface AggregatesBody {
  count: number;
  min_value: number;
  max_value: number;
  summation: number;
  median: number;
  axes: Record<'x' | 'y' | 'z', StatBody>;
}

function expectSameAggregates(body: AggregatesBody, want: Aggregates, absSums: Record<string, number>) {
  expect(body.count).toBe(want.count);
  expect(body.min_value).toBe(wire(want.value.min));
  expect(body.max_value).toBe(wire(want.value.max));
  expect(body.median).toBe(wire(want.value.median));
  expectSum(body.summation, want.value.sum, absSums.value!);
  for (const a of ['x', 'y', 'z'] as const) {
    expect(body.axes[a]).toMatchObject({
      min: wire(want[a].min),
      max: wire(want[a].max),
      median: wire(want[a].median),
    });
    expect(body.axes[a].count).toBe(want.count);
    expectSum(body.axes[a].sum, want[a].sum, absSums[a]!);
  }
}

const absSumsOf = (rows: { x: number; y: number; z: number }[]) => ({
  value: rows.reduce((s, r) => s + Math.abs(r.x + r.y + r.z), 0),
  x: rows.reduce((s, r) => s + Math.abs(r.x), 0),
  y: rows.reduce((s, r) => s + Math.abs(r.y), 0),
  z: rows.reduce((s, r) => s + Math.abs(r.z), 0),
});

describe('period aggregates from rollups', () => {
  it('answer the median of subnormal values (PostgreSQL float8 halving would raise underflow)', async () => {
    await send('subnormal', [[{ x: 5e-324, y: 0, z: 0, ts: 0 }], [{ x: 0, y: 0, z: 0, ts: 1 }]]);
    const one = await app.http.inject({
      method: 'GET',
      url: `/devices/subnormal/data${query({ start: null, end: new Date(T0) })}`,
    });
    expect(one.json()).toMatchObject({ median: 5e-324, axes: { x: { median: 5e-324 } } });
    // (0 + 5e-324) / 2 is a tie between 0 and 5e-324: rounds to even, 0.
    const both = await app.http.inject({ method: 'GET', url: '/devices/subnormal/data/all' });
    expect(both.json()).toMatchObject({ count: 2, median: 0, summation: 5e-324 });
  });

  it('equal the raw one-pass query for any readings and any period', async () => {
    await fc.assert(
      fc.asyncProperty(
        history.chain((batches) => {
          const times = batches.flat().map((r) => r.ts);
          return fc.tuple(
            fc.constant(batches),
            fc.array(fc.tuple(bound(times), bound(times)), { minLength: 4, maxLength: 8 }),
          );
        }),
        async ([batches, bounds]) => {
          const deviceId = `prop-${++serial}`;
          await send(deviceId, batches);
          const rows = batches.flat();
          const periods: Period[] = [
            { start: null, end: null },
            ...bounds.map(([a, b]) => {
              const [s, e] = a !== null && b !== null && a > b ? [b, a] : [a, b];
              return {
                start: s === null ? null : new Date(T0 + s),
                end: e === null ? null : new Date(T0 + e),
              };
            }),
          ];
          for (const period of periods) {
            const want = await oracle.rawForDevice(deviceId, period);
            const res = await app.http.inject({
              method: 'GET',
              url: `/devices/${deviceId}/data${query(period)}`,
            });
            if (!want) {
              expect(res.statusCode).toBe(404);
              expect(res.json().code).toBe('DEVICES_NO_DATA');
              continue;
            }
            expect(res.statusCode).toBe(200);
            const inPeriod = rows.filter(
              (r) =>
                (!period.start || T0 + r.ts >= period.start.getTime()) &&
                (!period.end || T0 + r.ts <= period.end.getTime()),
            );
            expect(want.count).toBe(inPeriod.length);
            const body = res.json();
            expectSameAggregates(body, want, absSumsOf(inPeriod));
            expect(body.period).toEqual({
              start: (period.start ?? want.first).toISOString(),
              end: (period.end ?? want.last).toISOString(),
            });
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('equal the raw one-pass query for a user’s devices combined and each device', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(history, { minLength: 1, maxLength: 3 }).chain((devices) => {
          const times = devices.flat(2).map((r) => r.ts);
          return fc.tuple(
            fc.constant(devices),
            fc.array(fc.tuple(bound(times), bound(times)), { minLength: 3, maxLength: 5 }),
          );
        }),
        async ([devices, bounds]) => {
          const user = (
            await app.http.inject({ method: 'POST', url: '/users', payload: { name: 'p' } })
          ).json().id;
          for (const batches of devices) {
            const deviceId = `prop-${++serial}`;
            await send(deviceId, batches);
            const res = await app.http.inject({
              method: 'PUT',
              url: `/devices/${deviceId}/owner`,
              payload: { user_id: user },
            });
            expect(res.statusCode).toBe(200);
          }
          const periods: Period[] = [{ start: null, end: null }, ...bounds.map(toPeriod)];
          for (const period of periods) {
            const want = await oracle.rawForOwner(user, period);
            const res = await app.http.inject({ method: 'GET', url: `/users/${user}/data${query(period)}` });
            if (!want.combined) {
              expect(res.statusCode).toBe(404);
              expect(res.json().code).toBe('DEVICES_NO_DATA');
              continue;
            }
            expect(res.statusCode).toBe(200);
            const body = res.json();
            // The sums of magnitudes of all the user's readings bound the rounding in any period.
            const big = absSumsOf(devices.flat(2));
            expectSameAggregates(body, want.combined, big);
            expect(Object.keys(body.devices).sort()).toEqual([...want.devices.keys()].sort());
            for (const [id, a] of want.devices) expectSameAggregates(body.devices[id], a, big);
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});
