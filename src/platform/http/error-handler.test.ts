/** Error kinds become statuses in the HTTP layer; a route's compatibility status applies to input errors only. */
import pino from 'pino';
import { Type } from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { badRequest, conflict, invalidInput, notFound, unavailable } from '../errors';
import { createHttp } from './server';

const app = await createHttp({ logger: pino({ level: 'silent' }), bodyLimit: 1024, version: 'test' });
const TEAPOT = { inputErrorStatus: 418 };
const BODY = { inputErrorStatus: 422, serviceInput: 'body' as const };
/** url, route config, what its handler throws */
const routes: [string, object, () => Error][] = [
  ['/field', {}, () => invalidInput('start', 'must be a date', 'PROBE_BAD_START')],
  ['/whole', {}, () => invalidInput('', 'expected an object')],
  ['/missing', {}, () => notFound('PROBE_NOT_FOUND', 'no such probe')],
  ['/taken', {}, () => conflict('PROBE_TAKEN', 'probe exists')],
  ['/busy', {}, () => unavailable('PROBE_BUSY', 'busy', 7)],
  ['/teapot/field', TEAPOT, () => invalidInput('log', 'bad line')],
  ['/teapot/legacy', TEAPOT, () => badRequest('OLD', 'fixed 400')],
  ['/teapot/missing', TEAPOT, () => notFound('NF', 'gone')],
  ['/body/field', BODY, () => invalidInput('datetime', 'must be ISO 8601', 'PROBE_BAD_DATETIME')],
  ['/body/whole', BODY, () => invalidInput('', 'expected an object')],
];
for (const [url, config, make] of routes) {
  app.get(url, { config }, async () => {
    throw make();
  });
}
app.post(
  '/body/schema',
  {
    config: BODY,
    schema: { body: Type.Object({ x: Type.Integer() }) },
  },
  async () => ({}),
);
await app.ready();
afterAll(() => app.close());

async function problem(url: string, method: 'GET' | 'POST' = 'GET', payload?: Record<string, unknown>) {
  const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], ...res.json() };
}

describe('error kinds over HTTP', () => {
  it('answers invalid input 400 naming the field, with the given code', async () => {
    expect(await problem('/field')).toMatchObject({
      status: 400,
      code: 'PROBE_BAD_START',
      detail: 'start: must be a date',
      type: 'urn:telelab:problem:probe-bad-start',
      title: 'Bad Request',
    });
    expect(await problem('/whole')).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: 'expected an object',
    });
  });

  it('maps not found, conflict and unavailable to 404, 409 and 503 with Retry-After', async () => {
    expect(await problem('/missing')).toMatchObject({ status: 404, code: 'PROBE_NOT_FOUND' });
    expect(await problem('/taken')).toMatchObject({ status: 409, code: 'PROBE_TAKEN' });
    expect(await problem('/busy')).toMatchObject({ status: 503, code: 'PROBE_BUSY', retryAfter: '7' });
  });

  it("gives a service's input error the route's compatibility status, and only input errors", async () => {
    expect(await problem('/teapot/field')).toMatchObject({ status: 418, detail: 'log: bad line' });
    expect(await problem('/teapot/missing')).toMatchObject({ status: 404, code: 'NF' });
  });

  it('keeps a status fixed by number whatever the route says', async () => {
    expect(await problem('/teapot/legacy')).toMatchObject({ status: 400, code: 'OLD', detail: 'fixed 400' });
  });

  it('places the field in the request part the route hands its service', async () => {
    expect(await problem('/body/field')).toMatchObject({
      status: 422,
      code: 'PROBE_BAD_DATETIME',
      detail: 'body.datetime: must be ISO 8601',
    });
    expect(await problem('/body/whole')).toMatchObject({ status: 422, detail: 'body: expected an object' });
  });

  it('leaves schema errors of such a route as the validator words them', async () => {
    expect(await problem('/body/schema', 'POST', { x: 'one' })).toMatchObject({
      status: 422,
      code: 'VALIDATION_FAILED',
      detail: expect.stringMatching(/^body\.x: /),
    });
  });
});
