import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../../test/helpers';
import { controlApp, type FakeClock, fakeClock, postReading, T0 } from '../test-support';

let app: TestApp;
let clock: FakeClock;

beforeAll(async () => {
  clock = fakeClock();
  ({ app } = await controlApp({ clock }));
});

beforeEach(async () => {
  clock.set(T0 + 1000);
  await app.db.query('DELETE FROM control.readings');
  await app.db.query('DELETE FROM control.decisions');
});

const iso = (ms: number) => new Date(ms).toISOString();

async function storedCount(): Promise<number> {
  const [row] = await app.db.query<{ n: number }>('SELECT count(*) AS n FROM control.readings');
  return Number(row!.n);
}

async function metric(sample: string): Promise<number> {
  const res = await app.http.inject({ method: 'GET', url: '/metrics' });
  const line = res.body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.statusCode, res.body).toBe(422);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  return JSON.parse(res.body) as { status: number; detail: string; code: string };
}

describe('POST /sensor-data', () => {
  it("stores the task's message and answers 200 {accepted: true} after it is committed", async () => {
    const res = await postReading(app, '2030-01-01T00:00:01', 104);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accepted: true });
    const rows = await app.db.query<{ datetime: Date; payload: number; received_at: Date }>(
      'SELECT datetime, payload, received_at FROM control.readings',
    );
    expect(rows).toEqual([
      { datetime: new Date('2030-01-01T00:00:01Z'), payload: 104, received_at: new Date(T0 + 1000) },
    ]);
  });

  it.each([
    ['2030-01-01T00:00:02.250Z', '2030-01-01T00:00:02.250Z'],
    ['2030-01-01T02:00:02+02:00', '2030-01-01T00:00:02.000Z'],
    ['2030-01-01 00:00:02.5', '2030-01-01T00:00:02.500Z'],
  ])('accepts %s (fraction and offset optional) and stores it as %s', async (input, stored) => {
    expect((await postReading(app, input, 1)).json()).toEqual({ accepted: true });
    const rows = await app.db.query<{ datetime: Date }>('SELECT datetime FROM control.readings');
    expect(rows.map((r) => r.datetime.toISOString())).toEqual([stored]);
  });

  it('accepts negative and 32-bit boundary payloads', async () => {
    for (const p of [-2_147_483_648, 0, 2_147_483_647]) {
      expect((await postReading(app, '2030-01-01T00:00:01', p)).statusCode).toBe(200);
    }
    expect(await storedCount()).toBe(3);
  });
});

describe('POST /sensor-data: invalid input is 422 problem+json naming the field', () => {
  it.each([
    ['payload 1.5', { datetime: '2030-01-01T00:00:01', payload: 1.5 }, 'body.payload'],
    ['payload "1"', { datetime: '2030-01-01T00:00:01', payload: '1' }, 'body.payload'],
    ['payload null', { datetime: '2030-01-01T00:00:01', payload: null }, 'body.payload'],
    ['payload true', { datetime: '2030-01-01T00:00:01', payload: true }, 'body.payload'],
    ['payload above int32', { datetime: '2030-01-01T00:00:01', payload: 2_147_483_648 }, 'body.payload'],
    ['payload missing', { datetime: '2030-01-01T00:00:01' }, 'body.payload'],
    ['datetime missing', { payload: 1 }, 'body.datetime'],
    ['datetime a number', { datetime: 1893456001, payload: 1 }, 'body.datetime'],
    ['datetime not a date', { datetime: 'yesterday', payload: 1 }, 'body.datetime'],
    ['datetime month 13', { datetime: '2030-13-01T00:00:01', payload: 1 }, 'body.datetime'],
    ['datetime without seconds', { datetime: '2030-01-01T00:00', payload: 1 }, 'body.datetime'],
    [
      'datetime over 64 chars',
      { datetime: `2030-01-01T00:00:01.${'1'.repeat(60)}`, payload: 1 },
      'body.datetime',
    ],
    ['an extra field', { datetime: '2030-01-01T00:00:01', payload: 1, sensor: 3 }, 'body.sensor'],
  ])('%s', async (_name, body, field) => {
    const res = await app.http.inject({ method: 'POST', url: '/sensor-data', payload: body });
    const problem = expectProblem(res);
    expect(problem.detail.startsWith(`${field}:`), problem.detail).toBe(true);
    expect(await storedCount()).toBe(0);
  });

  it('a body that is not a JSON object', async () => {
    for (const payload of ['[1,2]', '"text"', '{"datetime":']) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/sensor-data',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(expectProblem(res).detail).toMatch(/^body/);
    }
  });

  it('a datetime more than an hour ahead of the controller clock', async () => {
    const res = await postReading(app, iso(T0 + 1000 + 3600_001), 1);
    expect(expectProblem(res)).toMatchObject({ code: 'CONTROL_DATETIME_IN_FUTURE' });
    expect((await postReading(app, iso(T0 + 1000 + 3600_000), 1)).json()).toEqual({ accepted: true });
  });

  it('counts rejections by field in /metrics', async () => {
    const before = await metric('telelab_control_readings_rejected_total{field="payload"}');
    await app.http.inject({ method: 'POST', url: '/sensor-data', payload: { datetime: 'x', payload: 1.5 } });
    await postReading(app, 'not a date', 1);
    expect(await metric('telelab_control_readings_rejected_total{field="payload"}')).toBe(before + 1);
    expect(await metric('telelab_control_readings_rejected_total{field="datetime"}')).toBeGreaterThanOrEqual(
      1,
    );
  });
});

describe('outdated readings (fake clock at window boundaries, interval 5 s)', () => {
  it('exactly at a decision time, a reading 1 ms before it is outdated and not stored', async () => {
    clock.set(T0 + 5000);
    const res = await postReading(app, '2030-01-01T00:00:04.999', 7);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: false, reason: 'outdated' });
    expect(await storedCount()).toBe(0);
  });

  it('exactly at a decision time, a reading stamped with it is accepted', async () => {
    clock.set(T0 + 5000);
    expect((await postReading(app, '2030-01-01T00:00:05', 7)).json()).toEqual({ accepted: true });
  });

  it('1 ms before a decision time, the whole closing window is still accepted', async () => {
    clock.set(T0 + 4999);
    expect((await postReading(app, '2030-01-01T00:00:00', 7)).json()).toEqual({ accepted: true });
    expect((await postReading(app, '2029-12-31T23:59:59.999', 7)).json()).toEqual({
      accepted: false,
      reason: 'outdated',
    });
    expect(await storedCount()).toBe(1);
  });

  it('counts outdated and accepted readings in /metrics', async () => {
    const outdated = await metric('telelab_control_readings_total{outcome="outdated"}');
    const accepted = await metric('telelab_control_readings_total{outcome="accepted"}');
    clock.set(T0 + 10_000);
    await postReading(app, '2030-01-01T00:00:09', 1);
    await postReading(app, '2030-01-01T00:00:10', 1);
    expect(await metric('telelab_control_readings_total{outcome="outdated"}')).toBe(outdated + 1);
    expect(await metric('telelab_control_readings_total{outcome="accepted"}')).toBe(accepted + 1);
  });
});

describe('POST /sensor-data is a public ingest route', () => {
  it('is rate limited per client when RATE_LIMIT_PER_MINUTE is set', async () => {
    const limited = await controlApp({ clock: fakeClock(T0 + 1000), env: { RATE_LIMIT_PER_MINUTE: '2' } });
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await postReading(limited.app, '2030-01-01T00:00:01', i)).statusCode);
    expect(codes).toEqual([200, 200, 429]);
  });
});
