/**
 * Rollup maintenance: concurrent writers (single POSTs and batches into the same device hours, in
 * separate transactions on PostgreSQL) leave every rollup equal to one rebuilt from the readings;
 * a rolled-back insert leaves no trace; the period split covers every millisecond exactly once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, openSecondHandle, type TestApp } from '../../../test/helpers';
import { createDevicesModule } from './index';
import { createReadingsStore } from './readings.store';
import { createRollupsStore, HOUR_MS, ROLLUP_COLUMNS, splitPeriod } from './rollups.store';

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
});

const T0 = Date.parse('2024-06-01T10:00:00.000Z');

type Row = Record<string, unknown>;
const rollupsOf = (prefix: string) =>
  app.db.query<Row>(
    `SELECT device_id, bucket, ${ROLLUP_COLUMNS.join(', ')} FROM devices.rollups
     WHERE device_id LIKE $1 ORDER BY device_id, bucket`,
    [`${prefix}%`],
  );

/** Compares maintained rollups with rebuilt ones: exact except sums (order of addition). */
function expectSameRollups(maintained: Row[], rebuilt: Row[]) {
  expect(maintained.length).toBe(rebuilt.length);
  maintained.forEach((m, i) => {
    const r = rebuilt[i]!;
    for (const c of ['device_id', 'bucket', ...ROLLUP_COLUMNS]) {
      if (c.endsWith('_sum')) expect(Number(m[c])).toBeCloseTo(Number(r[c]), 6);
      else expect(String(m[c])).toBe(String(r[c]));
    }
  });
}

describe('rollup maintenance', () => {
  it('stays exact under concurrent single posts and batches into the same hours', async () => {
    const devices = ['cw-a', 'cw-b', 'cw-c'];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const reading = () => ({
      x: Math.round(rnd() * 2000 - 1000) / 10,
      y: rnd() * 10 - 5,
      z: -0.1,
      ts: new Date(T0 + Math.floor(rnd() * 3 * HOUR_MS)).toISOString(),
    });
    // A second handle gives PostgreSQL writers their own connections (separate transactions).
    const other = await openSecondHandle(app.db);
    const otherStore = createReadingsStore(other);
    const requests: Promise<number>[] = [];
    const lanes: Promise<unknown>[] = Array.from({ length: 5 }, () => Promise.resolve());
    for (let i = 0; i < 120; i++) {
      const device = devices[i % 3]!;
      if (i % 4 === 0) {
        const payload = Array.from({ length: 25 }, () => ({ device_id: device, ...reading() }));
        requests.push(
          app.http.inject({ method: 'POST', url: '/devices/data/batch', payload }).then((res) => {
            expect(res.statusCode).toBe(201);
            return 25;
          }),
        );
      } else if (i % 4 === 1) {
        const rows = Array.from({ length: 10 }, () => {
          const r = reading();
          return { deviceId: device, x: r.x, y: r.y, z: r.z, ts: new Date(r.ts) };
        });
        // Chained per lane: at most as many statements as the handle's pool has connections.
        const lane = i % 5;
        lanes[lane] = lanes[lane]!.then(() => otherStore.insert(rows));
        requests.push(lanes[lane]!.then(() => 10));
      } else {
        requests.push(
          app.http
            .inject({ method: 'POST', url: `/devices/${device}/data`, payload: reading() })
            .then((res) => {
              expect(res.statusCode).toBe(201);
              return 1;
            }),
        );
      }
    }
    const acknowledged = (await Promise.all(requests)).reduce((a, b) => a + b, 0);
    await other.close();

    const maintained = await rollupsOf('cw-');
    const total = maintained.reduce((n, r) => n + Number(r.count), 0);
    expect(total).toBe(acknowledged); // every acknowledged reading counted, none twice
    await createRollupsStore(app.db).rebuild(devices);
    expectSameRollups(maintained, await rollupsOf('cw-'));
  });

  it('leaves no rollup behind when the inserting transaction rolls back', async () => {
    const store = createReadingsStore(app.db);
    await store.insert([{ deviceId: 'rb-1', x: 1, y: 2, z: 3, ts: new Date(T0) }]);
    const before = await rollupsOf('rb-');
    await expect(
      app.db.transaction(async (tx) => {
        await store.insert([{ deviceId: 'rb-1', x: 10, y: 0, z: 0, ts: new Date(T0 + 5) }], tx);
        await store.insert([{ deviceId: 'rb-2', x: 10, y: 0, z: 0, ts: new Date(T0 + 5) }], tx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await rollupsOf('rb-')).toEqual(before);
    expect(before).toHaveLength(1);
    expect(Number(before[0]!.count)).toBe(1);
    expect(before[0]!.value_sum).toBe(6);
  });

  it('splits a period into whole hours and partial edges that cover it exactly once', () => {
    const d = (iso: string) => new Date(iso);
    expect(splitPeriod({ start: d('2024-01-01T10:00:00.000Z'), end: d('2024-01-01T12:59:59.999Z') })).toEqual(
      {
        lo: d('2024-01-01T10:00:00.000Z'),
        hi: d('2024-01-01T13:00:00.000Z'),
      },
    );
    expect(splitPeriod({ start: d('2024-01-01T10:00:00.001Z'), end: d('2024-01-01T13:00:00.000Z') })).toEqual(
      {
        lo: d('2024-01-01T11:00:00.000Z'),
        hi: d('2024-01-01T13:00:00.000Z'),
      },
    );
    // No whole hour inside: one edge, the whole period.
    expect(splitPeriod({ start: d('2024-01-01T10:30:00.000Z'), end: d('2024-01-01T11:29:00.000Z') })).toEqual(
      {
        lo: d('2024-01-01T10:30:00.000Z'),
        hi: d('2024-01-01T10:30:00.000Z'),
      },
    );
    expect(splitPeriod({ start: null, end: d('2024-01-01T10:59:59.998Z') })).toEqual({
      lo: null,
      hi: d('2024-01-01T10:00:00.000Z'),
    });
    expect(splitPeriod({ start: null, end: null })).toEqual({ lo: null, hi: null });
  });
});
