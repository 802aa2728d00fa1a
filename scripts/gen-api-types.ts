/**
 * `npm run gen:api-types`: writes web/src/api.gen.ts from the OpenAPI document of an app with every module,
 * built in memory on an empty embedded database (no server, no environment read).
 */
import { writeFileSync } from 'node:fs';
import { createApp } from '../src/app';
import { loadConfig } from '../src/platform/config';
import { openDb } from '../src/platform/db';
import { createLogger } from '../src/platform/logger';
import { API_TYPES_FILE, type OpenApiDocument, renderApiTypes } from './api-types';

const db = await openDb({ memory: true });
const app = await createApp({
  role: 'api',
  config: loadConfig({ LOG_LEVEL: 'silent' }),
  db,
  logger: createLogger('silent'),
});
try {
  await app.http.ready();
  writeFileSync(API_TYPES_FILE, await renderApiTypes(app.http.swagger() as OpenApiDocument));
  console.log(`wrote ${API_TYPES_FILE}`);
} finally {
  await app.close();
  await db.close();
}
