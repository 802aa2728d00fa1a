/**
 * The dashboard's API types are generated from the OpenAPI document (`npm run gen:api-types`); a route
 * schema changed without regenerating them fails here instead of drifting from what the pages read.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { API_TYPES_FILE, renderApiTypes } from '../scripts/api-types';
import { buildTestApp } from './helpers';

it('web/src/api.gen.ts is what the OpenAPI document the app serves generates', async () => {
  const app = await buildTestApp();
  const res = await app.http.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  const fresh = await renderApiTypes(res.json());
  expect(fresh, `${API_TYPES_FILE} is stale: run \`npm run gen:api-types\``).toBe(
    readFileSync(API_TYPES_FILE, 'utf8'),
  );
});
