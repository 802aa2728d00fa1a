/**
 * Aggregates checked against values computed here, independently of SQL (src/stats median/summarize).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { median } from '../../stats/descriptive';
import { createDevicesModule } from './index';

interface R {
  x: number;
  y: number;
  z: number;
  ts: string;
}

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
});

const T0 = Date.parse('2024-03-10T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

async function load(deviceId: string, rows: R[]) {
  const res = await app.http.inject({
    method: 'POST',
    url: '/devices/data/batch',
    payload: rows.map((r) => ({ device_id: deviceId, ...r })),
  });
  expect(res.statusCode).toBe(201);
}

async function aggregates(deviceId: string, query = '') {
  const res = await app.http.inject({ method: 'GET', url: `/devices/${deviceId}/data${query}` });
  return { status: res.statusCode, body: res.json() };
}

/** Expected aggregates of value = x + y + z and of each axis, from the rows themselves. */
function expected(rows: R[]) {
  const stat = (v: number[]) => ({
    min: Math.min(...v),
    max: Math.max(...v),
    sum: v.reduce((a, b) => a + b, 0),
    median: median(v),
    count: v.length,
  });
  const values = rows.map((r) => r.x + r.y + r.z);
  const s = stat(values);
  return {
    min_value: s.min,
    max_value: s.max,
    count: s.count,
    summation: s.sum,
    median: s.median,
    axes: { x: stat(rows.map((r) => r.x)), y: stat(rows.map((r) => r.y)), z: stat(rows.map((r) => r.z)) },
  };
}

// Multiples of 1/4 with small magnitude: every sum is exact in float8, so equality is exact.
const dyadic = (n: number, seed: number): R[] =>
  Array.from({ length: n }, (_, i) => ({
    x: (((i * 37 + seed) % 41) - 20) / 4,
    y: (((i * 53 + seed * 3) % 29) - 14) / 4,
    z: (((i * 11 + seed * 7) % 17) - 8) / 4,
    ts: at(i),
  }));

describe('device aggregates', () => {
  it('match independently computed values for an odd count', async () => {
    const rows = dyadic(7, 1);
    await load('odd', rows);
    const { status, body } = await aggregates('odd');
    expect(status).toBe(200);
    expect(body).toEqual({
      device_id: 'odd',
      ...expected(rows),
      period: { start: at(0), end: at(6) },
    });
  });

  it('give the mean of the two middle values as the median of an even count', async () => {
    const rows = [
      { x: 1, y: 0, z: 0, ts: at(0) },
      { x: 10, y: 0, z: 0, ts: at(1) },
      { x: 2, y: 0, z: 0, ts: at(2) },
      { x: 5, y: 0, z: 0, ts: at(3) },
    ];
    await load('even', rows);
    const { body } = await aggregates('even');
    expect(body.median).toBe(3.5);
    expect(body.axes.x.median).toBe(3.5);
    expect(body.axes.y.median).toBe(0);
    expect(body).toMatchObject(expected(rows));
  });

  it('handle a single record', async () => {
    const rows = [{ x: 1.5, y: -2.25, z: 4, ts: at(0) }];
    await load('single', rows);
    const { body } = await aggregates('single');
    expect(body).toEqual({ device_id: 'single', ...expected(rows), period: { start: at(0), end: at(0) } });
    expect(body.median).toBe(3.25);
  });

  it('handle negative values only', async () => {
    const rows = Array.from({ length: 6 }, (_, i) => ({ x: -i - 1, y: -0.5, z: -(i * i) - 0.25, ts: at(i) }));
    await load('negative', rows);
    const { body } = await aggregates('negative');
    expect(body).toMatchObject(expected(rows));
    expect(body.max_value).toBe(-1.75);
  });

  it('give the exact median of arbitrary doubles, bit for bit', async () => {
    // Random doubles are where lo + (hi - lo) * 0.5 (percentile_cont) drifts from the true midpoint.
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed / 2 ** 31) * 2000 - 1000 + seed / 2 ** 61;
    };
    for (const n of [40, 41, 42, 44, 46, 48]) {
      const rows = Array.from({ length: n }, (_, i) => ({ x: rnd(), y: rnd(), z: rnd(), ts: at(i) }));
      await load(`random-${n}`, rows);
      const { body } = await aggregates(`random-${n}`);
      const want = expected(rows);
      expect(body.median).toBe(want.median);
      expect(body.min_value).toBe(want.min_value);
      expect(body.max_value).toBe(want.max_value);
      for (const axis of ['x', 'y', 'z'] as const)
        expect(body.axes[axis].median).toBe(want.axes[axis].median);
      // Sums of arbitrary doubles depend on the order of addition: equal within float8 rounding.
      expect(body.summation).toBeCloseTo(want.summation, 9);
    }
  });

  it('include both bounds when they fall exactly on a record’s timestamp', async () => {
    const rows = dyadic(10, 5);
    await load('bounds', rows);
    const { body } = await aggregates('bounds', `?start_date=${at(2)}&end_date=${at(5)}`);
    expect(body).toEqual({
      device_id: 'bounds',
      ...expected(rows.slice(2, 6)),
      period: { start: at(2), end: at(5) },
    });
  });

  it('exclude records one millisecond outside the bounds', async () => {
    const rows = dyadic(10, 6);
    await load('bounds-ms', rows);
    const start = new Date(T0 + 2 * 60_000 + 1).toISOString();
    const end = new Date(T0 + 5 * 60_000 - 1).toISOString();
    const { body } = await aggregates('bounds-ms', `?start_date=${start}&end_date=${end}`);
    expect(body.count).toBe(2);
    expect(body).toMatchObject(expected(rows.slice(3, 5)));
  });

  it('accept bounds with offsets and report the period in UTC', async () => {
    const rows = dyadic(10, 7);
    await load('offsets', rows);
    // 2024-03-10T03:03:00+03:00 is minute 3 in UTC.
    const q = `?start_date=${encodeURIComponent('2024-03-10T03:03:00+03:00')}`;
    const { body } = await aggregates('offsets', q);
    expect(body).toMatchObject({ ...expected(rows.slice(3)), period: { start: at(3), end: at(9) } });
  });

  it('take either bound alone', async () => {
    const rows = dyadic(10, 8);
    await load('one-bound', rows);
    expect((await aggregates('one-bound', `?end_date=${at(4)}`)).body).toMatchObject({
      ...expected(rows.slice(0, 5)),
      period: { start: at(0), end: at(4) },
    });
  });

  it('over all time equal the unbounded period query', async () => {
    const rows = dyadic(9, 9);
    await load('all-time', rows);
    const all = await app.http.inject({ method: 'GET', url: '/devices/all-time/data/all' });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual((await aggregates('all-time')).body);
    expect(all.json()).toMatchObject(expected(rows));
  });

  it('answer 404 problem+json when the period holds no data', async () => {
    await load('sparse', dyadic(3, 1));
    const res = await app.http.inject({ method: 'GET', url: `/devices/sparse/data?start_date=${at(100)}` });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 404, code: 'DEVICES_NO_DATA' });
  });

  it('answer periods that end in the last hour of year 9999 (one step past it is year 10000)', async () => {
    // ceil_hour(start) and end + 1 ms fall in 10000-01-01, which toISOString writes as "+010000-…".
    const last = '9999-12-31T23:59:59.999Z';
    await load('last-hour', [
      { x: 1, y: 2, z: 3, ts: '9999-12-31T23:10:00Z' },
      { x: 4, y: 5, z: 6, ts: last },
    ]);
    const created = await app.http.inject({ method: 'POST', url: '/users', payload: { name: 'Y10K' } });
    const user = created.json() as { id: number };
    await app.http.inject({ method: 'PUT', url: '/devices/last-hour/owner', payload: { user_id: user.id } });
    for (const [query, count] of [
      [`start_date=9999-12-31T23:30:00Z`, 1],
      [`end_date=${last}`, 2],
      [`start_date=9999-12-31T23:10:00Z&end_date=${last}`, 2],
    ] as const) {
      for (const url of [`/devices/last-hour/data?${query}`, `/users/${user.id}/data?${query}`]) {
        const res = await app.http.inject({ method: 'GET', url });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
        expect(res.json().count).toBe(count);
      }
    }
    const series = await app.http.inject({
      method: 'GET',
      url: `/devices/last-hour/series?end_date=${last}&buckets=2`,
    });
    expect(series.statusCode, series.body).toBe(200);
  });

  it('answer 404 DEVICES_DEVICE_NOT_FOUND for a device that never sent data', async () => {
    for (const url of ['/devices/nobody/data', '/devices/nobody/data/all']) {
      const res = await app.http.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('DEVICES_DEVICE_NOT_FOUND');
    }
  });
});
