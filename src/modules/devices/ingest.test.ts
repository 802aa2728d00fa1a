import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { createDevicesModule } from './index';
import { createReadingsStore } from './readings.store';

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({
    modules: [createDevicesModule],
    clock: { now: () => Date.parse('2024-06-01T10:00:00.000Z') },
  });
});

const post = (deviceId: string, payload: object) =>
  app.http.inject({ method: 'POST', url: `/devices/${deviceId}/data`, payload });

const countRows = async (sql: string, params: unknown[] = []) =>
  Number((await app.db.query<{ n: number }>(`SELECT count(*) AS n FROM ${sql}`, params))[0]!.n);

describe('POST /devices/{device_id}/data', () => {
  it('stores a reading and answers 201 with id, values and timestamps in UTC', async () => {
    const res = await post('dev-1', { x: 1.5, y: -2, z: 0.25, ts: '2024-05-01T12:00:00.250+02:00' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      device_id: 'dev-1',
      x: 1.5,
      y: -2,
      z: 0.25,
      ts: '2024-05-01T10:00:00.250Z',
    });
    expect(body.id).toBeGreaterThan(0);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const stored = await app.db.query<{ x: number; ts: Date; created_at: Date }>(
      'SELECT x, ts, created_at FROM devices.readings WHERE id = $1',
      [body.id],
    );
    expect(stored).toEqual([
      { x: 1.5, ts: new Date('2024-05-01T10:00:00.250Z'), created_at: new Date(body.created_at) },
    ]);
  });

  it('uses the server time when the reading has no ts', async () => {
    const res = await post('dev-2', { x: 0, y: 0, z: 1 });
    expect(res.statusCode).toBe(201);
    expect(res.json().ts).toBe('2024-06-01T10:00:00.000Z');
  });

  it('keeps numbers exactly (float8 round trip)', async () => {
    const x = 0.1 + 0.2;
    const y = -1e100; // the limit itself is allowed
    const z = 5e-324;
    const res = await post('exact', { x, y, z });
    expect(res.statusCode).toBe(201);
    const row = (
      await app.db.query('SELECT x, y, z FROM devices.readings WHERE id = $1', [res.json().id])
    )[0];
    expect(row).toEqual({ x, y, z });
  });

  it('accepts every allowed device id character', async () => {
    const id = 'Az09._:-'.padEnd(64, 'q');
    expect((await post(encodeURIComponent(id), { x: 1, y: 1, z: 1 })).statusCode).toBe(201);
    expect(await countRows('devices.devices WHERE id = $1', [id])).toBe(1);
  });

  it('registers a new device once under 50 concurrent first posts, keeping all 50 readings', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post('fresh-device', { x: i, y: 0, z: 0 })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(201));
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(50);
    // Each caller got the id of its own row (rows of one batch are inserted sorted, not in arrival order).
    const rows = await app.db.query<{ id: number; x: number }>(
      "SELECT id, x FROM devices.readings WHERE device_id = 'fresh-device'",
    );
    const xById = new Map(rows.map((r) => [Number(r.id), r.x]));
    responses.forEach((r, i) => {
      expect(xById.get(r.json().id)).toBe(i);
    });
    expect(await countRows("devices.devices WHERE id = 'fresh-device'")).toBe(1);
    expect(await countRows("devices.readings WHERE device_id = 'fresh-device'")).toBe(50);
  });

  it('registers shared new devices once under concurrent batches (separate transactions)', async () => {
    // Each batch is its own statement, so on PostgreSQL these race on different connections.
    const ids = ['race-a', 'race-b', 'race-c', 'race-d'];
    const batches = Array.from({ length: 20 }, (_, b) =>
      (b % 2 ? [...ids].reverse() : ids).map((device_id) => ({ device_id, x: b, y: 1, z: 2 })),
    );
    const responses = await Promise.all(
      batches.map((payload) => app.http.inject({ method: 'POST', url: '/devices/data/batch', payload })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    expect(await countRows("devices.devices WHERE id LIKE 'race-%'")).toBe(4);
    expect(await countRows("devices.readings WHERE device_id LIKE 'race-%'")).toBe(80);
  });
});

describe('POST /devices/data/batch', () => {
  it('stores every item and answers 201 with the count', async () => {
    const payload = [
      { device_id: 'b-1', x: 1, y: 2, z: 3, ts: '2024-01-01T00:00:00Z' },
      { device_id: 'b-2', x: 4, y: 5, z: 6 },
      { device_id: 'b-1', x: 7, y: 8, z: 9, ts: '2024-01-01T00:00:01Z' },
    ];
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ accepted: 3 });
    expect(await countRows("devices.readings WHERE device_id IN ('b-1', 'b-2')")).toBe(3);
    const all = await app.http.inject({ method: 'GET', url: '/devices/b-1/data/all' });
    expect(all.json()).toMatchObject({ count: 2, summation: 30, median: 15 });
  });

  it('accepts an empty batch as a no-op', async () => {
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload: [] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ accepted: 0 });
  });
});

describe('the readings store remembers registered devices', () => {
  const reading = (deviceId: string) => ({
    deviceId,
    ts: new Date('2024-06-01T00:00:00Z'),
    x: 1,
    y: 2,
    z: 3,
  });

  it('stores readings of a remembered device without registering it again, and of new ones with', async () => {
    const store = createReadingsStore(app.db);
    await store.insert([reading('known-1')]); // registers, then remembers
    await store.insert([reading('known-1'), reading('known-1')]); // all remembered: no registration
    await store.insert([reading('known-1'), reading('known-2')]); // one new: registers both (no-op for 1)
    expect(await countRows("devices.devices WHERE id IN ('known-1', 'known-2')")).toBe(2);
    expect(await countRows("devices.readings WHERE device_id IN ('known-1', 'known-2')")).toBe(5);
  });

  it('does not remember a device registered inside a transaction that rolled back', async () => {
    const store = createReadingsStore(app.db);
    await app.db
      .transaction(async (tx) => {
        await store.insert([reading('rolled-back')], tx);
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(await countRows("devices.devices WHERE id = 'rolled-back'")).toBe(0);
    await store.insert([reading('rolled-back')]);
    // Had the rolled-back registration been remembered, this reading would have no device row.
    expect(await countRows("devices.devices WHERE id = 'rolled-back'")).toBe(1);
    expect(await countRows("devices.readings WHERE device_id = 'rolled-back'")).toBe(1);
  });
});
