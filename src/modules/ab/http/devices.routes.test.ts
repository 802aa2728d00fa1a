import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers';
import { createAbModule } from '../index';
import { getAnswer, newToken } from '../test-support';

const app = await buildTestApp({ modules: [createAbModule] });
const get = (headers: Record<string, string> = {}, url = '/api/v1/experiments') =>
  app.http.inject({ method: 'GET', url, headers });

describe('GET /api/v1/experiments status codes', () => {
  it('answers 400 problem+json without a Device-Token header', async () => {
    const res = await get();
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 400, code: 'AB_DEVICE_TOKEN_MISSING' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers 400 for an empty Device-Token', async () => {
    const res = await get({ 'device-token': '' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('AB_DEVICE_TOKEN_MISSING');
  });

  it.each([
    ['too short', 'abc1234'],
    ['too long', 'a'.repeat(129)],
    ['a space', 'abcd efgh'],
    ['a slash', 'abcd/efgh'],
    ['non-ASCII', 'устройство-1'],
  ])('answers 401 problem+json for a token with %s', async (_what, token) => {
    const res = await get({ 'device-token': token });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Device-Token');
    expect(res.json()).toMatchObject({ status: 401, code: 'AB_DEVICE_TOKEN_INVALID' });
  });

  it.each([
    ['a UUID', newToken()],
    ['8 characters', 'abcd1234'],
    ['128 characters', 'x'.repeat(128)],
    ['every allowed character', 'AZaz09._~:-'],
  ])('answers 200 for %s', async (_what, token) => {
    expect((await get({ 'device-token': token })).statusCode).toBe(200);
  });
});

describe('GET /api/v1/experiments answers', () => {
  it('returns [{experiment: value}] with values as configured: colour strings, price numbers', async () => {
    const answer = await getAnswer(app, newToken());
    expect(answer.map((o) => Object.keys(o))).toEqual([['button_color'], ['price']]);
    expect(['#FF0000', '#00FF00', '#0000FF']).toContain(answer[0]!.button_color);
    expect([10, 20, 50, 5]).toContain(answer[1]!.price);
  });

  it('carries Cache-Control private, max-age=300 and Vary: Device-Token', async () => {
    const token = newToken();
    for (let i = 0; i < 2; i++) {
      const res = await get({ 'device-token': token });
      expect(res.headers['cache-control']).toBe('private, max-age=300');
      expect(res.headers.vary).toBe('Device-Token');
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    }
  });

  it('gives a returning device the same answer every time', async () => {
    const token = newToken();
    const first = (await get({ 'device-token': token })).body;
    for (let i = 0; i < 5; i++) expect((await get({ 'device-token': token })).body).toBe(first);
  });
});

describe('GET /api/v1/experiments/explain', () => {
  it('explains an unknown device without recording it', async () => {
    const token = newToken();
    const res = await get({ 'device-token': token }, '/api/v1/experiments/explain');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      known: false,
      first_seen_at: null,
      experiments: [
        { name: 'button_color', participating: false, reason: 'would_enter', value: null },
        { name: 'price', participating: false, reason: 'would_enter', value: null },
      ],
    });
    expect((await get({ 'device-token': token }, '/api/v1/experiments/explain')).json().known).toBe(false);
  });

  it("shows a known device's values, deck version, k and slot", async () => {
    const token = newToken();
    const answer = await getAnswer(app, token);
    const res = await get({ 'device-token': token }, '/api/v1/experiments/explain');
    const body = res.json();
    expect(body.known).toBe(true);
    expect(Date.parse(body.first_seen_at)).not.toBeNaN();
    expect(body.experiments.map((e: { value: unknown }) => e.value)).toEqual([
      answer[0]!.button_color,
      answer[1]!.price,
    ]);
    const price = body.experiments[1];
    expect(price).toMatchObject({ participating: true, reason: 'assigned', assignment: { version: 1 } });
    expect(price.assignment.slot).toBe(price.assignment.k % 20);
  });

  it('checks the token like the main route', async () => {
    expect((await get({}, '/api/v1/experiments/explain')).statusCode).toBe(400);
    expect((await get({ 'device-token': 'bad' }, '/api/v1/experiments/explain')).statusCode).toBe(401);
  });
});
