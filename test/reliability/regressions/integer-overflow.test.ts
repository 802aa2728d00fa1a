/**
 * Regressions found by test/reliability/fuzz.test.ts (issue 9, item 2).
 *
 * Bug: integer inputs have a minimum but no maximum in their schemas, so a value beyond the column's
 * range (int8: 9223372036854775807, int4: 2147483647) passes validation and PostgreSQL refuses it
 * (`value "100000000000000000000" is out of range for type bigint`): 500 INTERNAL. Query and path
 * values are coerced, so `1e20` and `9223372036854775808` are integers to the validator.
 * Expected: 400 naming the field (or 404: no such user). Fixed in 61d830f; these were `it.fails` until then.
 */
import { beforeAll, describe, it } from 'vitest';
import type { TelelabApp } from '../../../src/app';
import { buildTestApp } from '../../helpers';
import { expectClientError as clientError } from '../support/inject';
import { ensureTestTemplate } from '../support/template';

let app: TelelabApp;
beforeAll(async () => {
  await ensureTestTemplate();
  app = await buildTestApp({ role: 'api' });
  await app.http.inject({ method: 'POST', url: '/devices/d1/data', payload: { x: 1, y: 2, z: 3 } });
});

const expectClientError = (method: string, url: string, payload?: unknown) =>
  clientError(app, method, url, payload);

describe('integers beyond the column range are client errors, not 500s', () => {
  // Was: 500 (devices users store, bigint).
  it('GET /users/1e20', () => expectClientError('GET', '/users/1e20'));
  it('GET /users/9223372036854775808', () => expectClientError('GET', '/users/9223372036854775808'));
  it('GET /users/1e20/data', () => expectClientError('GET', '/users/1e20/data'));
  it('PUT /devices/d1/owner with user_id 1e20', () =>
    expectClientError('PUT', '/devices/d1/owner', { user_id: 1e20 }));

  // Was: 500 (latency list, OFFSET bigint).
  it('GET /list_experiments?offset=1e20', () => expectClientError('GET', '/list_experiments?offset=1e20'));

  // Was: 500 (logs syncer report, records_written is an int4/int8 column).
  it('PUT /api/data/syncers/{name} with records_written 1e20', () =>
    expectClientError('PUT', '/api/data/syncers/s1', {
      target_file: 'a',
      last_id: null,
      records_written: 1e20,
    }));
});
