/**
 * Property: a user's aggregates (each device and all combined) through the devices' median indexes
 * equal the raw one-pass query (the oracle): devices with their own layouts (tiny buckets, so the
 * combined median is bracketed across many thresholds), devices never indexed, readings not indexed
 * yet, late readings, and periods whose bounds fall on readings, hour boundaries or nothing.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { createAggregatesStore } from './aggregates.store';
import { createDevicesModule } from './index';
import { createMedianIndex, type MedianIndex } from './median.index';
import { boundArb, roundsArb, STRICT, T0, TINY_INDEX, toPeriod, wire } from './test-arbitraries';

let app: TestApp;
let store: ReturnType<typeof createAggregatesStore>;
let index: MedianIndex;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
  store = createAggregatesStore(app.db, STRICT);
  index = createMedianIndex(app.db, TINY_INDEX);
});

const rounds = roundsArb(9, 5);
const bound = (times: number[]) => boundArb(times, 9);
let serial = 0;

describe('median index: a user’s devices', () => {
  it('answers a user’s devices, each and combined, as the raw query does, indexed or not', async () => {
    // Several devices of one user, each with its own layout (or none: never indexed), some readings
    // not indexed yet: the combined median is bracketed across the layouts (median.owner.ts).
    const device = fc.record({ rounds, never: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(
        fc.array(device, { minLength: 1, maxLength: 4 }).chain((ds) => {
          const times = ds.flatMap((d) => d.rounds.flatMap((r) => r.batch.map((x) => x.ts)));
          return fc.tuple(fc.constant(ds), fc.array(fc.tuple(bound(times), bound(times)), { maxLength: 5 }));
        }),
        async ([ds, bounds]) => {
          const [user] = await app.db.query<{ id: number }>(
            "INSERT INTO devices.users (name) VALUES ('p') RETURNING id",
          );
          for (const d of ds) {
            const deviceId = `owner-${++serial}`;
            for (const round of d.rounds) {
              const payload = round.batch.map((r) => ({
                device_id: deviceId,
                x: r.x,
                y: r.y,
                z: r.z,
                ts: new Date(T0 + r.ts).toISOString(),
              }));
              const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
              expect(res.statusCode).toBe(201);
              if (round.index && !d.never) await index.update(deviceId);
            }
            await app.db.query('UPDATE devices.devices SET owner_id = $1 WHERE id = $2', [
              user!.id,
              deviceId,
            ]);
          }
          for (const period of [{ start: null, end: null }, ...bounds.map(toPeriod)]) {
            const want = await store.rawForOwner(user!.id, period);
            const got = await store.forOwner(user!.id, period);
            const pairs = [[got.combined, want.combined]] as const;
            expect(got.combined === null).toBe(want.combined === null);
            expect([...got.devices.keys()].sort()).toEqual([...want.devices.keys()].sort());
            for (const [g, w] of [
              ...pairs,
              ...[...want.devices].map(([id, w]) => [got.devices.get(id), w]),
            ]) {
              if (!w) continue;
              expect(g!.count).toBe(w.count);
              for (const q of ['value', 'x', 'y', 'z'] as const) {
                expect(wire(g![q].median)).toBe(wire(w[q].median));
                expect(g![q].min).toBe(w[q].min);
                expect(g![q].max).toBe(w[q].max);
              }
            }
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
