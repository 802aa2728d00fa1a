/**
 * Regressions found by test/reliability/fuzz.test.ts (issue 9, item 2).
 *
 * Bug: a U+0000 (NUL) character in a text value reaches PostgreSQL, which refuses it
 * (`invalid byte sequence for encoding "UTF8": 0x00` for text, `unsupported Unicode escape sequence`
 * for jsonb); the error is unmapped, so the client gets 500 INTERNAL for what is bad input. Each case
 * below is one route that lets it through (same on PGlite and PostgreSQL). Expected: a 4xx problem
 * naming the field (or 404 for an unknown name), never a 5xx. Fixed in 61d830f; these were `it.fails` until then.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TelelabApp } from '../../../src/app';
import { buildTestApp } from '../../helpers';
import { expectClientError as clientError } from '../support/inject';
import { ensureTestTemplate } from '../support/template';

let app: TelelabApp;
beforeAll(async () => {
  await ensureTestTemplate();
  app = await buildTestApp({ role: 'api' });
});

async function expectClientError(method: string, url: string, payload?: unknown) {
  const res = await clientError(app, method, url, payload);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

const profile = { users: 1, duration_seconds: 1, interval_seconds: 1 };

describe('a NUL character in text input is a client error, not a 500', () => {
  // Was: 500 (devices users store: invalid byte sequence 0x00).
  it('POST /users with a NUL in name', () => expectClientError('POST', '/users', { name: 'a\u0000b' }));

  // Was: 500 for each of the four admin routes that take {name} in the path.
  it('GET /api/v1/admin/experiments/a%00b', () =>
    expectClientError('GET', '/api/v1/admin/experiments/a%00b'));
  it('DELETE /api/v1/admin/experiments/a%00b', () =>
    expectClientError('DELETE', '/api/v1/admin/experiments/a%00b'));
  it('POST /api/v1/admin/experiments/a%00b/stop', () =>
    expectClientError('POST', '/api/v1/admin/experiments/a%00b/stop'));
  it('PUT /api/v1/admin/experiments/a%00b/weights', () =>
    expectClientError('PUT', '/api/v1/admin/experiments/a%00b/weights', {
      options: [
        { value: 'a', weight: 1 },
        { value: 'b', weight: 1 },
      ],
    }));

  // Was: 500 (jsonb: unsupported Unicode escape sequence).
  it('POST /api/v1/admin/experiments with a NUL in an option value', () =>
    expectClientError('POST', '/api/v1/admin/experiments', {
      name: 'nul_value',
      options: [
        { value: 'a\u0000', weight: 1 },
        { value: 'b', weight: 1 },
      ],
    }));

  // Was: 500 (latency experiments: name and path are stored as given).
  it('POST /create_experiment with a NUL in name', () =>
    expectClientError('POST', '/create_experiment', {
      name: 'a\u0000',
      host: '127.0.0.1',
      port: 1,
      load_profiles: [profile],
    }));
  it('POST /create_experiment with a NUL in path', () =>
    expectClientError('POST', '/create_experiment', {
      name: 'n',
      host: '127.0.0.1',
      port: 1,
      path: '/a\u0000',
      load_profiles: [profile],
    }));
  it('POST /create_experiment_group with a NUL in name', () =>
    expectClientError('POST', '/create_experiment_group', { name: 'g\u0000', experiments: [] }));

  // Was: 500 (logs syncer report: target_file stored as given).
  it('PUT /api/data/syncers/{name} with a NUL in target_file', () =>
    expectClientError('PUT', '/api/data/syncers/s1', {
      target_file: 'a\u0000',
      last_id: null,
      records_written: 1,
    }));
});
