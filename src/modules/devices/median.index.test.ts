/**
 * Property: medians answered through the median index equal the raw one-pass query (the oracle), for
 * random readings (ties, negatives, values whose sums round) sent in rounds, late and out of order,
 * with the index brought up to date after some rounds and not others (so answers mix indexed and
 * unindexed readings), tiny buckets (many of them, single-valued ones for ties, checkpoints every few
 * readings, rebuilds when the count doubles), and periods whose bounds fall on readings, hour
 * boundaries, a millisecond beside them, or nothing.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, onPostgres, type TestApp } from '../../../test/helpers';
import { createAggregatesStore } from './aggregates.store';
import { createDevicesModule } from './index';
import { createMedianIndex, type MedianIndex } from './median.index';
import { bucketFinder, bucketOf, nextUp, singleValue, thresholdsFrom } from './median.layout';
import { createReadingsStore } from './readings.store';
import { boundArb, HOUR, roundsArb, STRICT, T0, TINY_INDEX, toPeriod, wire } from './test-arbitraries';

let app: TestApp;
let store: ReturnType<typeof createAggregatesStore>;
let index: MedianIndex;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
  store = createAggregatesStore(app.db, STRICT);
  index = createMedianIndex(app.db, TINY_INDEX);
});

const SPAN = 9 * HOUR;

const rounds = roundsArb(9, 5);

const bound = (times: number[]) => boundArb(times, 9);

let serial = 0;

/** All time, and two hours of the history. */
const TWO_PERIODS = [
  { start: null, end: null },
  { start: new Date(T0 + HOUR), end: new Date(T0 + 3 * HOUR - 1) },
];

/** The device's count and medians over each period are the raw query's. */
async function expectExact(deviceId: string, periods: { start: Date | null; end: Date | null }[]) {
  for (const period of periods) {
    const want = await store.rawForDevice(deviceId, period);
    const got = await store.forDevice(deviceId, period);
    expect(got?.count, JSON.stringify(period)).toBe(want?.count);
    for (const q of ['value', 'x', 'y', 'z'] as const)
      expect(wire(got![q].median), `${q} ${JSON.stringify(period)}`).toBe(wire(want![q].median));
  }
}

describe('median index', () => {
  it('places values in buckets as width_bucket does, and isolates values that fill a bucket', () => {
    const t = thresholdsFrom([1, 2, 2, 2, 5]);
    expect(t).toEqual([1, 2, nextUp(2), 5]);
    expect([0.5, 1, 1.5, 2, 3, 5, 7].map((v) => bucketOf(t, v))).toEqual([0, 1, 1, 2, 3, 4, 4]);
    expect(singleValue(t, 2)).toBe(2);
    expect(singleValue(t, 1)).toBeNull();
    expect(nextUp(-1) > -1 && nextUp(-1) - -1 === Number.EPSILON / 2).toBe(true);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
  });

  it('finds the same bucket with its guide as the full search, for any thresholds and values', () => {
    // Spread values (most cells hold a threshold or two), clustered ones with ties, and wild ranges.
    const spread = fc.double({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true });
    const clustered = fc.integer({ min: -40, max: 40 }).map((i) => i / 8);
    const wild = fc.double({ min: -1e100, max: 1e100, noNaN: true, noDefaultInfinity: true });
    const thresholdsArb = fc
      .oneof(spread, clustered, wild)
      .chain((v) => fc.array(fc.oneof(fc.constant(v), spread, clustered), { minLength: 16, maxLength: 400 }))
      .map((qs) => thresholdsFrom(Array.from(Float64Array.from(qs).sort())));
    fc.assert(
      fc.property(thresholdsArb, fc.array(fc.oneof(spread, clustered, wild), { maxLength: 50 }), (t, vs) => {
        const find = bucketFinder(t);
        // The thresholds and their neighbours are where a cell's range could be off by one.
        const probes = [...vs, ...t, ...t.map(nextUp), ...t.map((x) => -nextUp(-x)), -0];
        for (const v of probes) expect(find(v)).toBe(bucketOf(t, v));
      }),
      { numRuns: 300 },
    );
  });

  it('width_bucket in the database agrees with bucketOf', async () => {
    const t = [-1, -0.5, 0, 0.1, nextUp(0.1), 3];
    const vs = [-2, -1, -0.75, -0, 0, 0.1, nextUp(0.1), 2.9, 3, 4];
    const rows = await app.db.query<{ b: number }>(
      'SELECT width_bucket(v, $1::float8[]) AS b FROM unnest($2::float8[]) WITH ORDINALITY u(v, n) ORDER BY n',
      [t.map(String), vs.map((v) => (Object.is(v, -0) ? '-0' : String(v)))],
    );
    expect(rows.map((r) => r.b)).toEqual(vs.map((v) => bucketOf(t, v)));
  });

  it('answers the same medians as the raw query, indexed or not, late readings included', async () => {
    await fc.assert(
      fc.asyncProperty(
        rounds.chain((rs) => {
          const times = rs.flatMap((r) => r.batch.map((x) => x.ts));
          return fc.tuple(fc.constant(rs), fc.array(fc.tuple(bound(times), bound(times)), { maxLength: 6 }));
        }),
        async ([rs, bounds]) => {
          const deviceId = `median-${++serial}`;
          const periods = [{ start: null, end: null }, ...bounds.map(toPeriod)];
          for (const round of rs) {
            const payload = round.batch.map((r) => ({
              device_id: deviceId,
              x: r.x,
              y: r.y,
              z: r.z,
              ts: new Date(T0 + r.ts).toISOString(),
            }));
            const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
            expect(res.statusCode).toBe(201);
            if (round.index) await index.update(deviceId);
            for (const period of periods) {
              const want = await store.rawForDevice(deviceId, period);
              const got = await store.forDevice(deviceId, period);
              if (!want) {
                expect(got).toBeNull();
                continue;
              }
              expect(got!.count).toBe(want.count);
              for (const q of ['value', 'x', 'y', 'z'] as const) {
                expect(wire(got![q].median)).toBe(wire(want[q].median));
                expect(got![q].min).toBe(want[q].min);
              }
            }
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('is used: an indexed device answers from it, and the index holds every reading once', async () => {
    const deviceId = `median-${++serial}`;
    const payload = Array.from({ length: 300 }, (_, i) => ({
      device_id: deviceId,
      x: (i * 7919) % 101,
      y: i % 3,
      z: -i / 10,
      ts: new Date(T0 + ((i * 104729) % SPAN)).toISOString(),
    }));
    await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
    expect(await index.staleDevices()).toContain(deviceId);
    expect(await index.update(deviceId)).toBe(300);
    expect(await index.staleDevices()).not.toContain(deviceId);
    const [leaves] = await app.db.query<{ n: number }>(
      'SELECT sum(cardinality(vals))::int8 AS n FROM devices.median_leaves WHERE device_id = $1',
      [deviceId],
    );
    expect(Number(leaves!.n)).toBe(4 * 300);
    const [cks] = await app.db.query<{ n: number }>(
      'SELECT count(*)::int8 AS n FROM devices.median_checkpoints WHERE device_id = $1',
      [deviceId],
    );
    expect(Number(cks!.n)).toBeGreaterThan(1);
    const want = await store.rawForDevice(deviceId, { start: null, end: null });
    const got = await store.forDevice(deviceId, { start: null, end: null });
    expect(got!.value.median).toBe(want!.value.median);
    expect(await index.update(deviceId)).toBe(0);
  });

  it('stays exact while writers and indexers run at once (every reading held once)', async () => {
    const deviceId = `median-${++serial}`;
    let stop = false;
    let sent = 0;
    const writer = async (w: number) => {
      for (let i = 0; i < 12; i++) {
        // Every writer hits the same few hours (late ones included), so their statements contend.
        const payload = Array.from({ length: 25 }, (_, j) => ({
          device_id: deviceId,
          x: (w * 31 + i * 7 + j) % 17,
          y: j / 10,
          z: -w,
          ts: new Date(T0 + ((w + i + j) % 4) * HOUR + j * 1000).toISOString(),
        }));
        const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
        expect(res.statusCode).toBe(201);
        sent += payload.length;
      }
    };
    // Yield to timers between runs: on PGlite a query can complete in microtasks alone, and a loop of
    // those would starve the writers' requests.
    const indexer = async () => {
      while (!stop) {
        await index.update(deviceId);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const indexers = [indexer(), indexer()];
    await Promise.all([0, 1, 2, 3].map(writer));
    stop = true;
    await Promise.all(indexers);
    await index.update(deviceId);
    const [leaves] = await app.db.query<{ n: number }>(
      'SELECT sum(cardinality(vals))::int8 AS n FROM devices.median_leaves WHERE device_id = $1',
      [deviceId],
    );
    expect(Number(leaves!.n)).toBe(4 * sent);
    await expectExact(deviceId, TWO_PERIODS);
  });

  it('filters straddling leaf chunks by time exactly, before 2000 and after 2285 too', async () => {
    // Chunk times travel as int8 microseconds since 2000-01-01: negative before it, past 2^53 after 2285.
    const deviceId = `median-${++serial}`;
    const times = [
      '0001-01-01T00:00:00.005Z',
      '1969-12-31T23:59:59.999Z',
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00.000Z',
      '2000-01-01T00:00:00.001Z',
      '2285-06-01T00:00:00.000Z',
      '2300-01-01T00:00:00.001Z',
      '9999-12-31T23:59:59.990Z',
    ].map(Date.parse);
    const payload = times.flatMap((t, i) =>
      [0, 1, 2].map((j) => ({
        device_id: deviceId,
        x: (i * 5 + j) % 7,
        y: j,
        z: -i,
        ts: new Date(t + j).toISOString(),
      })),
    );
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
    expect(res.statusCode).toBe(201);
    await index.update(deviceId);
    const at = (t: number) => new Date(t);
    await expectExact(
      deviceId,
      times.flatMap((t) => [
        { start: at(t), end: null },
        { start: at(t + 1), end: null },
        { start: null, end: at(t) },
        { start: null, end: at(t + 1) },
        { start: at(t - 1), end: at(t + 1) },
      ]),
    );
  });

  it('places checkpoints inside a dense hour, and answers bounds beside them exactly', async () => {
    // 600 readings in one hour (one per 6 s), between sparse hours: the spacing (34 readings here) is
    // reached many times within the hour, so checkpoints fall on minute ends inside it.
    const deviceId = `median-${++serial}`;
    const at = (ms: number, i: number) => ({
      device_id: deviceId,
      x: (i * 7) % 11,
      y: i / 10,
      z: -(i % 3),
      ts: new Date(T0 + ms).toISOString(),
    });
    const dense = Array.from({ length: 600 }, (_, i) => at(HOUR + i * 6000, i));
    const sparse = Array.from({ length: 40 }, (_, i) => at((i % 2 ? 0 : 2 * HOUR) + i * 60_000, i));
    for (const payload of [dense, sparse]) {
      const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
      expect(res.statusCode).toBe(201);
    }
    await index.update(deviceId);
    const checkpoints = await app.db.query<{ at: Date }>(
      'SELECT at FROM devices.median_checkpoints WHERE device_id = $1',
      [deviceId],
    );
    const inside = checkpoints.filter((c) => c.at.getTime() % HOUR !== 0);
    expect(inside.length).toBeGreaterThan(5);
    expect(inside.every((c) => c.at.getTime() % 60_000 === 0)).toBe(true);
    // Bounds on, just before and just after checkpoints and other minutes of the dense hour.
    const periods = (): { start: Date | null; end: Date | null }[] =>
      [0, 7, 19, 33, 46, 59].flatMap((m, i) =>
        [-1, 0, 1].map((d) => {
          const t = T0 + HOUR + m * 60_000 + d;
          return i % 2 ? { start: new Date(t), end: null } : { start: new Date(T0 - HOUR), end: new Date(t) };
        }),
      );
    await expectExact(deviceId, [...TWO_PERIODS, ...periods()]);
    // Late readings inside the dense hour: counted raw at once, then added to the checkpoints after them.
    const late = Array.from({ length: 50 }, (_, i) => at(HOUR + 90_000 + i * 61_000, 1000 + i));
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload: late });
    expect(res.statusCode).toBe(201);
    await expectExact(deviceId, periods());
    await index.update(deviceId);
    await expectExact(deviceId, [...TWO_PERIODS, ...periods()]);
  });

  it.runIf(onPostgres)(
    'holds a reading whose transaction began before an index run and committed after it (PostgreSQL)',
    async () => {
      // A transaction with an older id stays open across a later writer's commit and an index run: the
      // index must neither hold its readings early nor miss them once it commits.
      const deviceId = `median-${++serial}`;
      const batch = (hour: number, n: number, x: number) =>
        Array.from({ length: n }, (_, j) => ({
          deviceId,
          ts: new Date(T0 + hour * HOUR + j * 1000),
          x: (x + j) % 13,
          y: j / 10,
          z: -1,
        }));
      const readings = createReadingsStore(app.db);
      await readings.insert(batch(0, 30, 0));
      await index.update(deviceId);
      const client = await app.db.pool!.connect();
      try {
        await client.query('BEGIN');
        const open = {
          query: async <R>(text: string, params?: readonly unknown[]) =>
            (await client.query(text, params as unknown[])).rows as R[],
        };
        await readings.insert(batch(2, 20, 5), open); // older txid, not committed yet
        await readings.insert(batch(1, 25, 3)); // newer txid, committed
        await index.update(deviceId);
        await expectExact(deviceId, TWO_PERIODS);
        await client.query('COMMIT');
        await expectExact(deviceId, TWO_PERIODS); // read raw until the index holds them
        await index.update(deviceId);
        await expectExact(deviceId, TWO_PERIODS);
      } finally {
        client.release();
      }
      const [leaves] = await app.db.query<{ n: number }>(
        'SELECT sum(cardinality(vals))::int8 AS n FROM devices.median_leaves WHERE device_id = $1',
        [deviceId],
      );
      expect(Number(leaves!.n)).toBe(4 * 75);
      expect(await index.update(deviceId)).toBe(0);
    },
  );

  it('is kept up to date by background processes on their own', async () => {
    const own = await buildTestApp({
      modules: [
        (deps) =>
          createDevicesModule(deps, {
            medianIndex: { minReadings: 50, bucketTarget: 4, maxBuckets: 16 },
            medianIndexIntervalMs: 50,
          }),
      ],
    });
    try {
      const ownIndex = createMedianIndex(own.db, { minReadings: 50 });
      const payload = Array.from({ length: 80 }, (_, i) => ({ device_id: 'bg', x: i % 7, y: 1, z: 0 }));
      expect(
        (await own.http.inject({ method: 'POST', url: '/devices/data/batch', payload })).statusCode,
      ).toBe(201);
      expect(await ownIndex.staleDevices()).toEqual(['bg']);
      await expect.poll(() => ownIndex.staleDevices(), { timeout: 20_000, interval: 100 }).toEqual([]);
      const [layout] = await own.db.query<{ indexed_count: number }>(
        'SELECT indexed_count FROM devices.median_layouts WHERE device_id = $1',
        ['bg'],
      );
      expect(Number(layout!.indexed_count)).toBe(80);
    } finally {
      await own.close();
    }
  });
});
