import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../../test/helpers';
import { createDecisionsStore, type DecisionsStore } from '../decisions.store';
import type { ControlStatus } from '../model';
import {
  at2030 as at,
  clearControlTables,
  expectProblemDetail as expectProblem,
  type FakeClock,
  readRoutesApp,
  seedDecisions,
  taskExample,
} from '../test-support';

let app: TestApp;
let clock: FakeClock;
let store: DecisionsStore;

beforeAll(async () => {
  ({ app, clock } = await readRoutesApp());
  store = createDecisionsStore(app.db);
});

beforeEach(() => clearControlTables(app, clock));

const seed = (points: typeof taskExample) => seedDecisions(store, points);

async function get(url: string) {
  return app.http.inject({ method: 'GET', url });
}

const period = (from: string, to: string, status: ControlStatus) => ({
  from_datetime: at(from).toISOString(),
  to_datetime: at(to).toISOString(),
  status,
});

describe('GET /history', () => {
  beforeEach(() => clock.set(at('13:00').getTime()));

  it("merges the task's example into [12:00-12:15 UP] [12:15-12:25 DOWN]", async () => {
    await seed(taskExample);
    const res = await get('/history?after=2030-01-01T12:00:00Z&before=2030-01-01T12:25:00Z');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual([period('12:00', '12:15', 'up'), period('12:15', '12:25', 'down')]);
  });

  it('clips periods that overlap the range instead of dropping them', async () => {
    await seed(taskExample);
    const res = await get('/history?after=2030-01-01T12:07:00Z&before=2030-01-01T12:17:00Z');
    expect(res.json()).toEqual([period('12:07', '12:15', 'up'), period('12:15', '12:17', 'down')]);
  });

  it('accepts from/to as aliases and offsets (encoded, or a + decoded to a space)', async () => {
    await seed(taskExample);
    const expected = [period('12:07', '12:15', 'up'), period('12:15', '12:17', 'down')];
    expect((await get('/history?from=2030-01-01T14:07:00%2B02:00&to=2030-01-01T12:17:00')).json()).toEqual(
      expected,
    );
    expect((await get('/history?from=2030-01-01T14:07:00+02:00&to=2030-01-01T12:17:00Z')).json()).toEqual(
      expected,
    );
  });

  it('ends the current period now when before is omitted, and starts at the first decision without after', async () => {
    await seed(taskExample);
    expect((await get('/history')).json()).toEqual([
      period('12:00', '12:15', 'up'),
      period('12:15', '13:00', 'down'),
    ]);
  });

  it('returns the one period in force for a range between two decisions', async () => {
    await seed(taskExample);
    expect((await get('/history?after=2030-01-01T12:16:00Z&before=2030-01-01T12:17:00Z')).json()).toEqual([
      period('12:16', '12:17', 'down'),
    ]);
  });

  it('is empty without decisions', async () => {
    expect((await get('/history')).json()).toEqual([]);
  });

  it('answers 400 when after is later than before', async () => {
    const res = await get('/history?after=2030-01-01T12:10:00Z&before=2030-01-01T12:05:00Z');
    expectProblem(res, 400, 'querystring.after:');
  });

  it.each([
    ['after=yesterday', 'querystring.after:'],
    ['from=2030-13-01', 'querystring.from:'],
    ['before=2030-01-01T24:00', 'querystring.before:'],
    ['to=12:00', 'querystring.to:'],
    ['after=0000-01-01', 'querystring.after:'],
    ['before=9999-12-31T23:00:00-05:00', 'querystring.before:'],
  ])('answers 400 naming the parameter for %s', async (query, field) => {
    expectProblem(await get(`/history?${query}`), 400, field);
  });

  it('accepts a bare date as midnight UTC and times without seconds', async () => {
    await seed(taskExample);
    expect((await get('/history?after=2030-01-01&before=2030-01-01T12:05')).json()).toEqual([
      period('12:00', '12:05', 'up'),
    ]);
    expect((await get('/history?after=2030-01-01 14:16 02:00&before=2030-01-01 12:17')).json()).toEqual([
      period('12:16', '12:17', 'down'),
    ]);
  });
});
