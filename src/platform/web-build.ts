/**
 * Builds the dashboard on first start, so `npm start` works from a fresh clone. Kept apart from the
 * serving code (web.ts) so `telelab up` can build without loading the HTTP server.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { PACKAGE_ROOT } from './paths';

/** The dashboard's source folder (holds vite.config.ts and index.html). */
export const WEB_ROOT = join(PACKAGE_ROOT, 'web');
export const DEFAULT_DIST_DIR = join(WEB_ROOT, 'dist');

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
