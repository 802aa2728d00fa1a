import pino from 'pino';
import { Type } from 'typebox';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { invalidInput } from '../errors';
import { countRejectedInput } from './rejected-input';
import { createHttp } from './server';

const counted: string[] = [];
const app = await createHttp({ logger: pino({ level: 'silent' }), bodyLimit: 256, version: 'test' });
const Body = Type.Object(
  { datetime: Type.String(), payload: Type.Integer() },
  { additionalProperties: false },
);
app.post(
  '/in',
  { onError: countRejectedInput(['datetime', 'payload'], (f) => counted.push(f)), schema: { body: Body } },
  async (req) => {
    if (req.body.payload < 0) throw invalidInput('payload', 'must be >= 0');
    return { ok: true };
  },
);
app.post('/other', { schema: { body: Body } }, async () => ({ ok: true }));
await app.ready();
afterAll(() => app.close());
beforeEach(() => {
  counted.length = 0;
});

const post = (payload: string, url = '/in') =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });

describe('countRejectedInput', () => {
  it('counts a schema error by the field it names', async () => {
    await post('{"datetime": 1, "payload": 1}');
    await post('{"datetime": "x"}');
    expect(counted).toEqual(['datetime', 'payload']);
  });

  it("counts fields outside the list, bad JSON and an empty body as 'body'", async () => {
    await post('{"datetime": "x", "payload": 1, "extra": 1}');
    await post('{not json');
    await post('');
    expect(counted).toEqual(['body', 'body', 'body']);
  });

  it("counts a body over the limit as 'body_too_large'", async () => {
    await post(JSON.stringify({ datetime: 'x'.repeat(300), payload: 1 }));
    expect(counted).toEqual(['body_too_large']);
  });

  it("leaves the service's own refusals and accepted input uncounted", async () => {
    expect((await post('{"datetime": "x", "payload": -1}')).statusCode).toBe(400);
    expect((await post('{"datetime": "x", "payload": 1}')).statusCode).toBe(200);
    expect(counted).toEqual([]);
  });

  it('counts only on the routes that carry the hook', async () => {
    await post('{}', '/other');
    expect(counted).toEqual([]);
  });
});
