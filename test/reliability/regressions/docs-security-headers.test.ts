/**
 * Regression from test/reliability/security.test.ts (issue 9, item 8): the Swagger UI page at /docs
 * is an HTML page served without any security header.
 *
 *   GET /docs -> 200 text/html, no Content-Security-Policy, no X-Content-Type-Options, no
 *   X-Frame-Options / frame-ancestors (it can be framed: clickjacking), no Referrer-Policy.
 * The A/B stats page and the dashboard send all four (src/modules/ab/http/stats.routes.ts,
 * src/platform/web.ts). @fastify/swagger-ui takes `staticCSP`/`transformStaticCSP` and an
 * onRequest/onSend hook can add the rest (src/platform/http.ts).
 * Fixed in 61d830f; this was `it.fails` until then.
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

describe('the /docs HTML page', () => {
  // Was: none of these headers is sent.
  it('is sent with a CSP, nosniff, no framing and a referrer policy', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(
      String(res.headers['x-frame-options'] ?? '') + String(res.headers['content-security-policy'] ?? ''),
    ).toMatch(/DENY|SAMEORIGIN|frame-ancestors/);
    expect(res.headers['referrer-policy']).toBeDefined();
  });
});
