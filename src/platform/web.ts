/**
 * The dashboard: the Vite build in web/dist served by the API server itself, same origin (no CORS).
 * Building it (on first start, so `npm start` works from a fresh clone) is in web-build.ts.
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import { sendProblem } from './http/problems';
import type { App } from './http/server';

export { DEFAULT_DIST_DIR, ensureDashboardBuilt } from './web-build';

/** Everything the page loads is bundled and same-origin; uPlot and React set inline styles. */
export const DASHBOARD_CSP =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

const HTML_HEADERS: Record<string, string> = {
  'cache-control': 'no-cache',
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Serves `distDir` at `/`: index.html for `/` (always revalidated), hashed files under assets/
 * cached for a year. Only files that exist get a route, so unknown paths still reach the app's
 * problem+json 404 handler.
 */
export async function registerDashboard(app: App, opts: { distDir: string }): Promise<void> {
  if (!existsSync(join(opts.distDir, 'index.html'))) {
    // The API works without the dashboard; say why `/` is empty instead of a bare 404.
    app.get('/', { schema: { hide: true } }, (_req, reply) =>
      sendProblem(reply, 503, 'DASHBOARD_NOT_BUILT', 'The dashboard is not built; run `npm run build:web`.'),
    );
    return;
  }
  const assetsDir = join(opts.distDir, 'assets') + sep;
  await app.register(fastifyStatic, {
    root: opts.distDir,
    prefix: '/',
    // One route per built file (and `/` for index.html) instead of a catch-all `/*`.
    wildcard: false,
    cacheControl: false,
    setHeaders(res, filePath) {
      res.setHeader('x-content-type-options', 'nosniff');
      if (filePath.startsWith(assetsDir)) {
        res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      } else if (filePath.endsWith('.html')) {
        for (const [k, v] of Object.entries(HTML_HEADERS)) res.setHeader(k, v);
      } else {
        res.setHeader('cache-control', 'no-cache');
      }
    },
  });
}
