import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers';
import { createAbModule } from '../index';
import { admin } from '../test-support';

const app = await buildTestApp({ modules: [createAbModule] });
const two = [
  { value: 'a', weight: 1 },
  { value: 'b', weight: 3 },
];

describe('POST /api/v1/admin/experiments', () => {
  it('creates a running experiment: 201, Location, options and deck size', async () => {
    const res = await admin(app, 'POST', '', { name: 'create_ok', options: two });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe('/api/v1/admin/experiments/create_ok');
    expect(res.json()).toMatchObject({
      name: 'create_ok',
      status: 'running',
      stopped_at: null,
      version: 1,
      deck_size: 4,
      options: two,
    });
  });

  it('answers 409 for a name in use', async () => {
    expect((await admin(app, 'POST', '', { name: 'dup', options: two })).statusCode).toBe(201);
    const res = await admin(app, 'POST', '', { name: 'dup', options: two });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('AB_EXPERIMENT_EXISTS');
  });

  it.each([
    ['fewer than 2 options', { name: 'x1', options: [{ value: 'a', weight: 1 }] }, 400, 'body.options'],
    [
      'a zero weight',
      { name: 'x2', options: [{ value: 'a', weight: 0 }, two[1]] },
      400,
      'body.options.0.weight',
    ],
    [
      'a fractional weight',
      { name: 'x3', options: [{ value: 'a', weight: 1.5 }, two[1]] },
      400,
      'body.options.0.weight',
    ],
    [
      'a weight given as a string',
      { name: 'x4', options: [{ value: 'a', weight: '2' }, two[1]] },
      400,
      'body.options.0.weight',
    ],
    ['a bad name', { name: '1 bad name', options: two }, 400, 'body.name'],
    ['an unknown field', { name: 'x5', options: two, colour: 'red' }, 400, 'body.colour'],
    [
      'an empty value',
      { name: 'x6', options: [{ value: '', weight: 1 }, two[1]] },
      400,
      'body.options.0.value',
    ],
    [
      'repeated values',
      {
        name: 'x7',
        options: [
          { value: 10, weight: 1 },
          { value: 20, weight: 1 },
          { value: 10, weight: 2 },
        ],
      },
      422,
      'body.options.2.value',
    ],
    [
      'a deck over 10 000',
      {
        name: 'x8',
        options: [
          { value: 'a', weight: 1 },
          { value: 'b', weight: 10_000 },
        ],
      },
      422,
      'body.options',
    ],
  ])('rejects %s and names the field', async (_what, body, status, field) => {
    const res = await admin(app, 'POST', '', body);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().detail).toContain(field);
  });

  it('treats the string "10" and the number 10 as different values', async () => {
    const res = await admin(app, 'POST', '', {
      name: 'typed',
      options: [
        { value: '10', weight: 1 },
        { value: 10, weight: 1 },
      ],
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('listing, stopping, weights and deleting', () => {
  it('lists the seeded experiments first, then created ones', async () => {
    const res = await admin(app, 'GET', '');
    expect(res.statusCode).toBe(200);
    const names = res.json().map((e: { name: string }) => e.name);
    expect(names.slice(0, 2)).toEqual(['button_color', 'price']);
    expect(res.json()[1]).toMatchObject({
      options: [
        { value: 10, weight: 75 },
        { value: 20, weight: 10 },
        { value: 50, weight: 5 },
        { value: 5, weight: 10 },
      ],
      deck_size: 20,
    });
  });

  it('stops once: a second stop keeps the first time', async () => {
    await admin(app, 'POST', '', { name: 'stop_me', options: two });
    const first = await admin(app, 'POST', '/stop_me/stop');
    expect(first.statusCode).toBe(200);
    expect(first.json().status).toBe('stopped');
    const again = await admin(app, 'POST', '/stop_me/stop');
    expect(again.json().stopped_at).toBe(first.json().stopped_at);
  });

  it('refuses weight changes on a stopped experiment (409) and unknown experiments (404)', async () => {
    await admin(app, 'POST', '', { name: 'stopped_w', options: two });
    await admin(app, 'POST', '/stopped_w/stop');
    expect((await admin(app, 'PUT', '/stopped_w/weights', { options: two })).statusCode).toBe(409);
    expect((await admin(app, 'PUT', '/nope/weights', { options: two })).statusCode).toBe(404);
    expect((await admin(app, 'POST', '/nope/stop')).statusCode).toBe(404);
    expect((await admin(app, 'GET', '/nope')).statusCode).toBe(404);
  });

  it('requires every option exactly once in a weight change (422, field named)', async () => {
    await admin(app, 'POST', '', { name: 'weights_set', options: two });
    const missing = await admin(app, 'PUT', '/weights_set/weights', {
      options: [
        { value: 'a', weight: 1 },
        { value: 'c', weight: 1 },
      ],
    });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'AB_OPTIONS_MISMATCH' });
    expect(missing.json().detail).toContain('body.options');
    const same = await admin(app, 'PUT', '/weights_set/weights', { options: two });
    expect(same.json().version).toBe(1);
    const changed = await admin(app, 'PUT', '/weights_set/weights', {
      options: [
        { value: 'b', weight: 1 },
        { value: 'a', weight: 1 },
      ],
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      version: 2,
      deck_size: 2,
      options: [
        { value: 'a', weight: 1 },
        { value: 'b', weight: 1 },
      ],
    });
  });

  it('deletes: 204, then 404', async () => {
    await admin(app, 'POST', '', { name: 'delete_me', options: two });
    expect((await admin(app, 'DELETE', '/delete_me')).statusCode).toBe(204);
    expect((await admin(app, 'GET', '/delete_me')).statusCode).toBe(404);
    expect((await admin(app, 'DELETE', '/delete_me')).statusCode).toBe(404);
  });
});

describe('with TELELAB_API_TOKEN set', () => {
  it('guards every admin route with the bearer token', async () => {
    const guarded = await buildTestApp({
      modules: [createAbModule],
      env: { TELELAB_API_TOKEN: 'sesame-1234' },
    });
    const body = { name: 'guarded', options: two };
    const without = await guarded.http.inject({
      method: 'POST',
      url: '/api/v1/admin/experiments',
      payload: body,
    });
    expect(without.statusCode).toBe(401);
    expect((await guarded.http.inject({ method: 'GET', url: '/api/v1/admin/experiments' })).statusCode).toBe(
      401,
    );
    const withToken = await guarded.http.inject({
      method: 'POST',
      url: '/api/v1/admin/experiments',
      payload: body,
      headers: { authorization: 'Bearer sesame-1234' },
    });
    expect(withToken.statusCode).toBe(201);
    // Devices and the statistics stay public.
    expect((await guarded.http.inject({ method: 'GET', url: '/pages/experiment-stats' })).statusCode).toBe(
      200,
    );
  });
});
