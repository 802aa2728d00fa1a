/**
 * `telelab serve` / `worker`: one server process (API + background work, API only, or background work
 * only) until a signal or the parent's death, then a graceful close that flushes acknowledged batches.
 */
import { createApp, VERSION } from './app';
import { EXIT, onShutdown } from './platform/cli-kit';
import type { Config } from './platform/config';
import { createLogger } from './platform/logger';
import { DEFAULT_DIST_DIR, ensureDashboardBuilt } from './platform/web-build';

export type ServerRole = 'serve' | 'api' | 'worker';

export async function serve(cfg: Config, role: ServerRole): Promise<void> {
  const logger = createLogger(cfg.LOG_LEVEL);
  if (role !== 'worker') {
    await ensureDashboardBuilt(DEFAULT_DIST_DIR, { log: (m) => logger.info(m) }).catch((err) =>
      logger.warn({ err }, 'dashboard build failed; serving the API without it'),
    );
  }
  const app = await createApp({
    config: cfg,
    role,
    logger,
    ...(role !== 'worker' ? { dashboard: { distDir: DEFAULT_DIST_DIR } } : {}),
  });
  onShutdown((reason) => {
    process.stderr.write(`\n${reason}: shutting down...\n`);
    app.close().then(
      () => process.exit(EXIT.OK),
      (err) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(EXIT.FAILURE);
      },
    );
  });
  if (role === 'worker') {
    logger.info({ database: app.db.kind }, 'worker started: background work only');
    return;
  }
  let address: string;
  try {
    address = await app.listen();
  } catch (e) {
    await app.close().catch(() => {});
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    process.stderr.write(
      `telelab ${role}: port ${cfg.PORT} on ${cfg.HOST} is in use by another process; stop it or set PORT=<free port>\n`,
    );
    process.exit(EXIT.FAILURE);
  }
  const base = address.replace('[::1]', 'localhost');
  process.stdout.write(
    [
      `telelab ${VERSION} (${role}) on ${app.db.kind === 'pglite' ? `embedded database in ${cfg.DATA_DIR}` : 'PostgreSQL'}`,
      `  API and dashboard  ${base}/`,
      `  OpenAPI docs       ${base}/docs`,
      `  health / ready     ${base}/healthz  ${base}/readyz`,
      `  metrics            ${base}/metrics`,
      '',
    ].join('\n'),
  );
}
