/** Every kind of bad input: a 4xx problem+json naming the field, and nothing stored. */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { createDevicesModule } from './index';

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule], env: { DEVICES_BATCH_LIMIT: '5' } });
  const seed = await app.http.inject({
    method: 'POST',
    url: '/devices/known/data',
    payload: { x: 1, y: 2, z: 3, ts: '2024-01-01T00:00:00Z' },
  });
  expect(seed.statusCode).toBe(201);
});

const readingCount = async () =>
  Number((await app.db.query<{ n: number }>('SELECT count(*) AS n FROM devices.readings'))[0]!.n);

async function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): { detail: string; status: number } },
  field: string,
  status = 400,
) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  const body = res.json();
  expect(body.status).toBe(status);
  expect(body.detail).toContain(field);
}

describe('POST /devices/{device_id}/data rejects', () => {
  const cases: [string, string, string][] = [
    ['"NaN" as a string', '{"x":"NaN","y":1,"z":1}', 'body.x'],
    ['"Infinity" as a string', '{"x":1,"y":"Infinity","z":1}', 'body.y'],
    ['a NaN literal (not JSON)', '{"x":NaN,"y":1,"z":1}', 'body'],
    ['an overflowing number (1e400 parses to Infinity)', '{"x":1,"y":1,"z":1e400}', 'body.z'],
    ['a number beyond the axis limit', '{"x":1e101,"y":1,"z":1}', 'body.x'],
    ['a missing axis', '{"x":1,"y":1}', 'body.z'],
    ['an extra field', '{"x":1,"y":1,"z":1,"w":1}', 'body.w'],
    ['a numeric string', '{"x":"1","y":1,"z":1}', 'body.x'],
    ['null', '{"x":null,"y":1,"z":1}', 'body.x'],
    ['a boolean', '{"x":true,"y":1,"z":1}', 'body.x'],
    ['an array body', '[1,2,3]', 'body'],
    ['an unparseable ts', '{"x":1,"y":1,"z":1,"ts":"yesterday"}', 'body.ts'],
    ['an impossible date', '{"x":1,"y":1,"z":1,"ts":"2023-02-29T00:00:00Z"}', 'body.ts'],
    ['a ts outside years 1-9999', '{"x":1,"y":1,"z":1,"ts":"0000-01-01T00:00:00Z"}', 'body.ts'],
    ['a numeric ts', '{"x":1,"y":1,"z":1,"ts":1714564800}', 'body.ts'],
  ];
  it.each(cases)('%s', async (_name, payload, field) => {
    const before = await readingCount();
    const res = await app.http.inject({
      method: 'POST',
      url: '/devices/fresh/data',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    await expectProblem(res, field);
    expect(await readingCount()).toBe(before);
  });

  it.each([
    ['a character outside the set', 'bad%20id'],
    ['a slash-free but too long id', 'a'.repeat(65)],
    ['a non-ASCII id', encodeURIComponent('dévice')],
  ])('an invalid device id: %s', async (_name, id) => {
    const before = await readingCount();
    const res = await app.http.inject({
      method: 'POST',
      url: `/devices/${id}/data`,
      payload: { x: 1, y: 1, z: 1 },
    });
    await expectProblem(res, 'params.device_id');
    expect(await readingCount()).toBe(before);
  });
});

describe('POST /devices/data/batch rejects the whole batch', () => {
  it('naming the index of the first bad item, storing none of the good ones', async () => {
    const before = await readingCount();
    const payload = [
      { device_id: 'ok-1', x: 1, y: 1, z: 1 },
      { device_id: 'ok-2', x: 1, y: 1, z: 1 },
      { device_id: 'ok-3', x: 1, y: 'NaN', z: 1 },
      { device_id: 'ok-4', x: 1, z: 1 },
    ];
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
    await expectProblem(res, 'body.2.y');
    expect(await readingCount()).toBe(before);
    const devices = await app.db.query("SELECT id FROM devices.devices WHERE id LIKE 'ok-%'");
    expect(devices).toEqual([]);
  });

  it.each([
    ['an invalid device id', { device_id: 'no spaces', x: 1, y: 1, z: 1 }, 'body.1.device_id'],
    ['a missing device id', { x: 1, y: 1, z: 1 }, 'body.1.device_id'],
    ['a bad ts', { device_id: 'd', x: 1, y: 1, z: 1, ts: '2024-01-01T00:00:00+25:00' }, 'body.1.ts'],
    ['an extra field', { device_id: 'd', x: 1, y: 1, z: 1, extra: true }, 'body.1.extra'],
  ])('%s', async (_name, bad, field) => {
    const before = await readingCount();
    const payload = [{ device_id: 'fine', x: 1, y: 1, z: 1 }, bad];
    await expectProblem(
      await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload }),
      field,
    );
    expect(await readingCount()).toBe(before);
  });

  it('over the configured limit (DEVICES_BATCH_LIMIT)', async () => {
    const before = await readingCount();
    const payload = Array.from({ length: 6 }, () => ({ device_id: 'many', x: 1, y: 1, z: 1 }));
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload });
    await expectProblem(res, 'body');
    expect(res.json().detail).toContain('5');
    expect(await readingCount()).toBe(before);
  });

  it('that is not an array', async () => {
    const res = await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload: { x: 1 } });
    await expectProblem(res, 'body');
  });
});

describe('GET /devices/{device_id}/data rejects', () => {
  it.each([
    [
      'start_date after end_date',
      '?start_date=2024-02-01T00:00:00Z&end_date=2024-01-01T00:00:00Z',
      'start_date',
    ],
    ['an unparseable start_date', '?start_date=not-a-date', 'querystring.start_date'],
    ['an unparseable end_date', '?end_date=2024-13-01T00:00:00Z', 'querystring.end_date'],
    ['a date without a time', '?start_date=2024-01-01', 'querystring.start_date'],
    ['an unknown query parameter', '?start=2024-01-01T00:00:00Z', 'querystring.start'],
  ])('%s', async (_name, query, field) => {
    await expectProblem(await app.http.inject({ method: 'GET', url: `/devices/known/data${query}` }), field);
  });

  it('start_date after end_date once offsets are applied', async () => {
    // 10:00+02:00 is 08:00Z, after 07:30Z.
    const q = `?start_date=${encodeURIComponent('2024-01-01T10:00:00+02:00')}&end_date=2024-01-01T07:30:00Z`;
    const res = await app.http.inject({ method: 'GET', url: `/devices/known/data${q}` });
    await expectProblem(res, 'start_date');
    expect(res.json().code).toBe('DEVICES_INVALID_PERIOD');
  });

  it('an offset whose + the URL turned into a space, with how to write it', async () => {
    const res = await app.http.inject({
      method: 'GET',
      url: '/devices/known/data?start_date=2024-01-01T10:00:00+02:00',
    });
    await expectProblem(res, 'querystring.start_date');
    expect(res.json().detail).toContain("in a URL write the offset's + as %2B");
  });

  it('an invalid device id', async () => {
    await expectProblem(
      await app.http.inject({ method: 'GET', url: '/devices/a%20b/data/all' }),
      'params.device_id',
    );
  });
});
