/**
 * GET /devices/{id}/series: buckets cover the period exactly, empty ones are returned empty, and each
 * bucket's statistics equal the period aggregates over the bucket's own bounds (and known values).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { median } from '../../stats/descriptive';
import { createAggregatesStore } from './aggregates.store';
import { createDevicesModule } from './index';

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
});

const T0 = Date.parse('2024-07-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

async function load(deviceId: string, rows: { x: number; y: number; z: number; ts: string }[]) {
  const payload = rows.map((r) => ({ device_id: deviceId, ...r }));
  expect((await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload })).statusCode).toBe(
    201,
  );
}
const get = (url: string) => app.http.inject({ method: 'GET', url });

describe('device series', () => {
  it('cuts the period into equal buckets and returns empty ones with count 0', async () => {
    // Minutes 0, 5, 10 in the first quarter hour, none in the second, 31 and 44 in the third.
    const xs = [
      [0, 1],
      [5, 4],
      [10, 2],
      [31, -0.1],
      [44, 0.3],
    ];
    await load(
      'series-a',
      xs.map(([m, x]) => ({ x: x!, y: 0.2, z: 0, ts: at(m!) })),
    );
    const res = await get(`/devices/series-a/series?start_date=${at(0)}&end_date=${at(60)}&buckets=4`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.period).toEqual({ start: at(0), end: at(60) });
    expect(body.buckets.map((b: { count: number }) => b.count)).toEqual([3, 0, 2, 0]);
    // span = 60 min + 1 ms: bucket bounds are start + ceil(i * span / 4).
    expect(body.buckets[0]).toMatchObject({ start: at(0), end: new Date(T0 + 15 * 60_000).toISOString() });
    expect(body.buckets[1].start).toBe(new Date(T0 + 15 * 60_000 + 1).toISOString());
    expect(body.buckets[3].end).toBe(at(60));
    expect(body.buckets[1]).toMatchObject({ value: null, x: null, y: null, z: null });
    const first = [1, 4, 2].map((x) => x + 0.2);
    expect(body.buckets[0].value).toEqual({
      min: Math.min(...first),
      max: Math.max(...first),
      mean: first.reduce((a, b) => a + b, 0) / 3,
      median: median(first),
    });
    expect(body.buckets[2].x).toEqual({
      min: -0.1,
      max: 0.3,
      mean: (-0.1 + 0.3) / 2,
      median: (-0.1 + 0.3) / 2,
    });
  });

  it('gives each bucket the aggregates of its own bounds', async () => {
    let seed = 3;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const rows = Array.from({ length: 300 }, () => ({
      x: Math.round(rnd() * 100) / 10,
      y: rnd() - 0.5,
      z: -3,
      ts: new Date(T0 + Math.floor(rnd() * 5 * 3_600_000)).toISOString(),
    }));
    await load('series-b', rows);
    const res = await get('/devices/series-b/series?buckets=7');
    const body = res.json();
    expect(body.buckets).toHaveLength(7);
    expect(body.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(300);
    const oracle = createAggregatesStore(app.db);
    for (const b of body.buckets) {
      const want = await oracle.rawForDevice('series-b', { start: new Date(b.start), end: new Date(b.end) });
      expect(b.count).toBe(want?.count ?? 0);
      if (!want) continue;
      for (const q of ['value', 'x', 'y', 'z'] as const) {
        expect(b[q]).toMatchObject({ min: want[q].min, max: want[q].max, median: want[q].median });
        expect(b[q].mean).toBeCloseTo(want[q].sum / want.count, 9);
      }
    }
  });

  it('answers 404 for an unknown device and 400 naming a bad parameter', async () => {
    const unknown = await get('/devices/nobody/series');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('DEVICES_DEVICE_NOT_FOUND');
    await load('series-c', [{ x: 1, y: 1, z: 1, ts: at(0) }]);
    for (const [q, field] of [
      ['buckets=0', 'querystring.buckets'],
      ['buckets=1001', 'querystring.buckets'],
      ['start_date=yesterday', 'querystring.start_date'],
    ] as const) {
      const res = await get(`/devices/series-c/series?${q}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toContain(field);
    }
    const reversed = await get(`/devices/series-c/series?start_date=${at(5)}&end_date=${at(1)}`);
    expect(reversed.json().code).toBe('DEVICES_INVALID_PERIOD');
    // A known device with nothing in the period: every bucket empty, not a 404.
    const empty = await get(`/devices/series-c/series?start_date=${at(10)}&end_date=${at(20)}&buckets=2`);
    expect(empty.statusCode).toBe(200);
    expect(empty.json().buckets.map((b: { count: number }) => b.count)).toEqual([0, 0]);
  });
});
