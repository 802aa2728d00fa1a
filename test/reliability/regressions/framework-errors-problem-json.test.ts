/**
 * Regression found by test/reliability/fuzz.test.ts (issue 9, item 2).
 *
 * Bug: errors that Fastify's router raises before any route runs are answered as Fastify's default
 * `application/json` `{error, code, message, statusCode}` instead of problem+json:
 *   GET /users/%zz/data             -> 400 FST_ERR_BAD_URL (a malformed percent escape in a path param)
 *   GET /devices/<600 x>/data       -> 414 FST_ERR_MAX_PARAM_LENGTH (a path param over maxParamLength)
 * The error handler in src/platform/http.ts never sees them; Fastify's `frameworkErrors` option does.
 * Fix there, then change `it.fails` to `it`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TelelabApp } from '../../../src/app';
import { buildTestApp } from '../../helpers';
import { ensureTestTemplate } from '../support/template';

let app: TelelabApp;
beforeAll(async () => {
  await ensureTestTemplate();
  app = await buildTestApp({ role: 'api' });
});

async function expectProblem(url: string, status: number) {
  const res = await app.http.inject({ method: 'GET', url });
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json().detail).toEqual(expect.any(String));
}

describe('router errors are problem+json', () => {
  // Was: answered with content-type application/json (Fastify default body).
  it('a malformed percent escape in a path parameter is a 400 problem', async () => {
    await expectProblem('/users/%zz/data', 400);
  });

  // Was: answered with content-type application/json (Fastify default body).
  it('a path parameter longer than maxParamLength is a 414 problem', async () => {
    await expectProblem(`/devices/${'x'.repeat(600)}/data`, 414);
  });
});
