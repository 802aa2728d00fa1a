import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { median } from '../../stats/descriptive';
import { createDevicesModule } from './index';

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
});

const T0 = Date.parse('2024-04-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

async function createUser(name: string): Promise<number> {
  const res = await app.http.inject({ method: 'POST', url: '/users', payload: { name } });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

const setOwner = (deviceId: string, userId: number | null) =>
  app.http.inject({ method: 'PUT', url: `/devices/${deviceId}/owner`, payload: { user_id: userId } });

async function load(deviceId: string, values: number[]) {
  const payload = values.map((v, i) => ({ device_id: deviceId, x: v, y: 0.5, z: -0.25, ts: at(i) }));
  expect((await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload })).statusCode).toBe(
    201,
  );
}

describe('users and owners', () => {
  it('creates a user and shows the devices it owns', async () => {
    const res = await app.http.inject({ method: 'POST', url: '/users', payload: { name: 'Ada' } });
    expect(res.statusCode).toBe(201);
    const user = res.json();
    expect(user).toMatchObject({ name: 'Ada', device_ids: [] });
    await load('ada-2', [1]);
    await load('ada-1', [1]);
    expect((await setOwner('ada-2', user.id)).json()).toEqual({ device_id: 'ada-2', user_id: user.id });
    expect((await setOwner('ada-1', user.id)).statusCode).toBe(200);
    const got = await app.http.inject({ method: 'GET', url: `/users/${user.id}` });
    expect(got.json()).toEqual({ ...user, device_ids: ['ada-1', 'ada-2'] });
  });

  it('moves a device to another owner and clears it with null', async () => {
    const a = await createUser('A');
    const b = await createUser('B');
    await load('moving', [1]);
    await setOwner('moving', a);
    await setOwner('moving', b);
    expect((await app.http.inject({ method: 'GET', url: `/users/${a}` })).json().device_ids).toEqual([]);
    expect((await app.http.inject({ method: 'GET', url: `/users/${b}` })).json().device_ids).toEqual([
      'moving',
    ]);
    expect((await setOwner('moving', null)).json()).toEqual({ device_id: 'moving', user_id: null });
    expect((await app.http.inject({ method: 'GET', url: `/users/${b}` })).json().device_ids).toEqual([]);
  });

  it('answers 404 naming what is missing', async () => {
    const u = await createUser('C');
    await load('owned-once', [1]);
    expect((await setOwner('never-seen', u)).json().code).toBe('DEVICES_DEVICE_NOT_FOUND');
    expect((await setOwner('owned-once', 999_999)).json().code).toBe('DEVICES_USER_NOT_FOUND');
    const missing = await app.http.inject({ method: 'GET', url: '/users/999999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('DEVICES_USER_NOT_FOUND');
  });

  it.each([
    ['an empty name', '/users', 'POST', { name: '' }, 'body.name'],
    ['an extra field', '/users', 'POST', { name: 'x', admin: true }, 'body.admin'],
    ['a string user_id', '/devices/d/owner', 'PUT', { user_id: '1' }, 'body.user_id'],
    ['a missing user_id', '/devices/d/owner', 'PUT', {}, 'body.user_id'],
    // Beyond 2^53 an id is no longer exact in JSON clients; the database's bigint would also overflow.
    [
      'a user_id beyond 2^53',
      '/devices/d/owner',
      'PUT',
      { user_id: 1e20 },
      'body.user_id: must be <= 9007199254740991',
    ],
    [
      'a user id beyond 2^53',
      '/users/99999999999999999999',
      'GET',
      undefined,
      'params.user_id: must be <= 9007199254740991',
    ],
  ] as const)('rejects %s', async (_n, url, method, payload, field) => {
    const res = await app.http.inject({ method, url, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain(field);
  });

  it('guards user and owner changes with the API token when one is set', async () => {
    const guarded = await buildTestApp({
      modules: [createDevicesModule],
      env: { TELELAB_API_TOKEN: 's3cret' },
    });
    const denied = await guarded.http.inject({ method: 'POST', url: '/users', payload: { name: 'x' } });
    expect(denied.statusCode).toBe(401);
    const ok = await guarded.http.inject({
      method: 'POST',
      url: '/users',
      payload: { name: 'x' },
      headers: { authorization: 'Bearer s3cret' },
    });
    expect(ok.statusCode).toBe(201);
    expect(
      (await guarded.http.inject({ method: 'PUT', url: '/devices/d/owner', payload: { user_id: 1 } }))
        .statusCode,
    ).toBe(401);
    expect((await guarded.http.inject({ method: 'POST', url: '/tasks/recalculate' })).statusCode).toBe(401);
  });
});

describe('GET /users/{user_id}/data', () => {
  it('combines all the user’s devices and lists each, in the period', async () => {
    const u = await createUser('Owner');
    await load('u-a', [1, 5, 3]);
    await load('u-b', [10, -4]);
    await load('u-c', [100]); // not owned: must not count
    await setOwner('u-a', u);
    await setOwner('u-b', u);
    const res = await app.http.inject({ method: 'GET', url: `/users/${u}/data` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const values = [1, 5, 3, 10, -4].map((x) => x + 0.5 - 0.25);
    expect(body).toMatchObject({
      user_id: u,
      count: 5,
      min_value: Math.min(...values),
      max_value: Math.max(...values),
      summation: values.reduce((a, b) => a + b),
      median: median(values),
      axes: { x: { median: 3, count: 5 } },
      period: { start: at(0), end: at(2) },
    });
    expect(Object.keys(body.devices).sort()).toEqual(['u-a', 'u-b']);
    expect(body.devices['u-b']).toMatchObject({ device_id: 'u-b', count: 2, median: 3.25 });
    // Each device's numbers equal its own device query.
    const own = await app.http.inject({ method: 'GET', url: '/devices/u-a/data' });
    expect(body.devices['u-a']).toEqual(own.json());

    const ranged = await app.http.inject({
      method: 'GET',
      url: `/users/${u}/data?start_date=${at(1)}&end_date=${at(1)}`,
    });
    expect(ranged.json()).toMatchObject({ count: 2, period: { start: at(1), end: at(1) } });
    expect(Object.keys(ranged.json().devices).sort()).toEqual(['u-a', 'u-b']);
    const late = await app.http.inject({ method: 'GET', url: `/users/${u}/data?start_date=${at(2)}` });
    expect(Object.keys(late.json().devices)).toEqual(['u-a']);
  });

  it('answers 404 when the user owns no data in the period, and for an unknown user', async () => {
    const u = await createUser('Empty');
    const none = await app.http.inject({ method: 'GET', url: `/users/${u}/data` });
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('DEVICES_NO_DATA');
    const unknown = await app.http.inject({ method: 'GET', url: '/users/424242/data' });
    expect(unknown.json().code).toBe('DEVICES_USER_NOT_FOUND');
  });

  it('rejects start_date after end_date', async () => {
    const res = await app.http.inject({
      method: 'GET',
      url: '/users/1/data?start_date=2024-01-02T00:00:00Z&end_date=2024-01-01T00:00:00Z',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain('start_date');
  });
});
