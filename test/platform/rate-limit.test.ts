import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import type { ModuleFactory } from '../../src/platform/module';
import { buildTestApp } from '../helpers';

const probe: ModuleFactory = () => ({
  name: 'probe',
  routes(app) {
    const body = Type.Object({ n: Type.Integer() });
    app.post('/ingest', { config: { ingest: true }, schema: { body } }, async () => ({ ok: true }));
    app.post('/other', { schema: { body } }, async () => ({ ok: true }));
  },
});

describe('per-client rate limiting on ingest routes', () => {
  it('answers 429 problem+json with Retry-After past RATE_LIMIT_PER_MINUTE, on ingest routes only', async () => {
    const app = await buildTestApp({ modules: [probe], env: { RATE_LIMIT_PER_MINUTE: '3' } });
    const post = (url: string) => app.http.inject({ method: 'POST', url, payload: { n: 1 } });
    for (let i = 0; i < 3; i++) expect((await post('/ingest')).statusCode).toBe(200);
    const limited = await post('/ingest');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    for (let i = 0; i < 5; i++) expect((await post('/other')).statusCode).toBe(200);
  });

  it('is off by default', async () => {
    const app = await buildTestApp({ modules: [probe] });
    for (let i = 0; i < 20; i++) {
      const r = await app.http.inject({ method: 'POST', url: '/ingest', payload: { n: 1 } });
      expect(r.statusCode).toBe(200);
    }
  });
});
