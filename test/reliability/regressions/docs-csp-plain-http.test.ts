/**
 * Regression found while checking the /docs fix of 61d830f (issue 9, item 8).
 *
 * Bug: /docs is registered with `staticCSP: true` (src/platform/http.ts), whose policy includes
 * `upgrade-insecure-requests`. telelab serves plain HTTP, so a browser that opens /docs at any
 * address other than localhost rewrites the page's own assets to https:// and cannot load them:
 * Swagger UI stays blank. Reproduction (Chromium 1xx, playwright-core):
 *   HOST=0.0.0.0 telelab serve; open http://<machine IP>:8000/docs/
 *   -> https://<ip>:8000/docs/static/swagger-ui.css net::ERR_SSL_PROTOCOL_ERROR (same for the JS),
 *      0 operations rendered; at http://127.0.0.1:8000/docs/ all 47 render (localhost is exempt).
 * The policy also lacks what Swagger UI's inline styles need (console: "Applying inline style violates
 * ... style-src 'self' https:"). Fix: a CSP without upgrade-insecure-requests (e.g. staticCSP as a
 * string, or transformStaticCSP removing it). Then change `it.fails` to `it`.
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

describe('the /docs CSP on a plain-HTTP server', () => {
  // BUG: the policy carries upgrade-insecure-requests.
  it('does not ask browsers to upgrade the page’s own http requests to https', async () => {
    for (const url of ['/docs', '/docs/']) {
      const res = await app.http.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['content-security-policy'])).not.toMatch(/upgrade-insecure-requests/);
    }
  });
});
