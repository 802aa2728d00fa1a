/**
 * How the server hands out the dashboard (no browser needed): built on demand, index.html with its
 * security headers and no-cache, hashed assets immutable, and API 404s still problem+json.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, ensureDashboardBuilt, registerDashboard } from '../../src/platform/web';
import { buildTestApp, type TestApp } from '../helpers';

describe('dashboard serving', () => {
  let app: TestApp;
  let parent = '';
  let distDir = '';
  let built = false;

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'telelab-web-'));
    distDir = join(parent, 'dist');
    built = await ensureDashboardBuilt(distDir, { log: () => {} });
    app = await buildTestApp({ modules: [] });
    await registerDashboard(app.http, { distDir });
  }, 120_000);

  afterAll(() => rm(parent, { recursive: true, force: true }));

  it('builds the dashboard when it is missing, and only then', async () => {
    expect(built).toBe(true);
    expect(await ensureDashboardBuilt(distDir, { log: () => {} })).toBe(false);
  });

  it('serves index.html at / with security headers and no caching', async () => {
    const res = await app.http.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toContain('<div id="root">');
  });

  it('bundles everything: the page loads nothing from another origin', () => {
    const html = readFileSync(join(distDir, 'index.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script (the CSP forbids it)
  });

  it('serves hashed assets as immutable', async () => {
    const html = (await app.http.inject({ url: '/' })).body;
    const js = html.match(/\/assets\/[^"]+\.js/)?.[0];
    const css = html.match(/\/assets\/[^"]+\.css/)?.[0];
    expect(js && css).toBeTruthy();
    for (const url of [js!, css!]) {
      const res = await app.http.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
  });

  it('keeps problem+json 404s for unknown paths, API or not', async () => {
    for (const url of ['/no-such-page', '/assets/missing.js', '/api/v1/nothing']) {
      const res = await app.http.inject({ url, headers: { accept: 'text/html' } });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().code).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('explains an unbuilt dashboard at / and keeps serving the API', async () => {
    const bare = await buildTestApp({ modules: [] });
    await registerDashboard(bare.http, { distDir: join(parent, 'never-built') });
    const res = await bare.http.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('DASHBOARD_NOT_BUILT');
    expect((await bare.http.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('leaves the API documentation free of static file routes', async () => {
    const doc = (await app.http.inject({ url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/assets'))).toEqual([]);
  });
});
