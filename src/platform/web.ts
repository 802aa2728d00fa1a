/**
 * The dashboard: the Vite build in web/dist served by the API server itself, same origin (no CORS),
 * and built on first start when missing so `npm start` works from a fresh clone.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { type App, sendProblem } from './http';

/** The dashboard's source folder (holds vite.config.ts and index.html). */
export const WEB_ROOT = fileURLToPath(new URL('../../web', import.meta.url));
export const DEFAULT_DIST_DIR = join(WEB_ROOT, 'dist');

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

export interface EnsureBuiltOptions {
  /** Source folder with vite.config.ts; default the repository's web/. */
  root?: string;
  /** Rebuild even when index.html exists. */
  force?: boolean;
  log?: (message: string) => void;
}

/**
 * Builds the dashboard with Vite when `distDir/index.html` is missing. The build goes to a sibling
 * folder renamed into place at the end, so a process that starts meanwhile (or a second builder)
 * never serves a half-written folder. Vite is imported only when a build is needed.
 */
export async function ensureDashboardBuilt(distDir: string, opts: EnsureBuiltOptions = {}): Promise<boolean> {
  if (!opts.force && existsSync(join(distDir, 'index.html'))) return false;
  const root = opts.root ?? WEB_ROOT;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const tmp = join(dirname(distDir), `.${basename(distDir)}-build-${process.pid}-${Date.now()}`);
  log(`Building the dashboard (${relative(process.cwd(), root) || '.'} -> ${distDir}) ...`);
  const { build } = await import('vite');
  try {
    await build({
      root,
      configFile: join(root, 'vite.config.ts'),
      logLevel: 'warn',
      mode: 'production',
      build: { outDir: tmp, emptyOutDir: true },
    });
    if (existsSync(join(distDir, 'index.html')) && !opts.force) return false; // another process won
    await rm(distDir, { recursive: true, force: true });
    await rename(tmp, distDir);
    return true;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
