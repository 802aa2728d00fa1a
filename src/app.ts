/**
 * Composition root: config -> database -> migrations -> jobs -> modules -> HTTP.
 * Nothing else wires dependencies together.
 */
import { createAbModule } from './modules/ab';
import { createControlModule } from './modules/control';
import { createDevicesModule } from './modules/devices';
import { createLatencyModule } from './modules/latency';
import { createLogsModule } from './modules/logs';
import type { Config } from './platform/config';
import { type Db, openDb } from './platform/db';
import { bearerGuard } from './platform/http/bearer';
import { sendProblem } from './platform/http/problems';
import { type App, createHttp } from './platform/http/server';
import { createJobs, type Jobs } from './platform/jobs';
import { createLogger, type Logger } from './platform/logger';
import { createMetrics, registerMetricsRoute } from './platform/metrics';
import { migrate, pendingMigrations } from './platform/migrate';
import { type Clock, type ModuleFactory, systemClock, type TelelabModule } from './platform/module';
import { registerRecentRates } from './platform/recent-rates';
import { VERSION } from './platform/version';
import { registerDashboard } from './platform/web';

export { VERSION };

/** Every module of the platform, in start order. */
export const moduleFactories: ModuleFactory[] = [
  createLogsModule,
  createDevicesModule,
  createAbModule,
  createControlModule,
  createLatencyModule,
];

export type Role = 'serve' | 'api' | 'worker';

export interface CreateAppOptions {
  config: Config;
  /** serve: HTTP + background work; api: HTTP only; worker: background work only (no listener). */
  role?: Role;
  /** An already open database (tests); otherwise opened from config. */
  db?: Db;
  logger?: Logger;
  clock?: Clock;
  modules?: ModuleFactory[];
  /** Apply migrations at start (default true). */
  migrate?: boolean;
  /** Serve the built dashboard from this folder at `/` (not in worker processes). */
  dashboard?: { distDir: string };
}

export interface TelelabApp {
  http: App;
  db: Db;
  jobs: Jobs;
  modules: TelelabModule[];
  config: Config;
  logger: Logger;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createApp(opts: CreateAppOptions): Promise<TelelabApp> {
  const { config } = opts;
  const role = opts.role ?? 'serve';
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const ownsDb = !opts.db;
  const db =
    opts.db ??
    (await openDb({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolSize: config.DB_POOL_SIZE,
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
      applicationName: `telelab-${role}`,
    }));
  try {
    const metrics = createMetrics();
    const jobs = createJobs({
      db,
      logger,
      pollingIntervalSeconds: config.JOBS_POLL_INTERVAL_SECONDS,
      background: role !== 'api',
    });
    const deps = {
      config,
      db,
      jobs,
      logger,
      metrics,
      clock: opts.clock ?? systemClock,
      adminGuard: bearerGuard(config.TELELAB_API_TOKEN),
    };
    const modules = (opts.modules ?? moduleFactories).map((create) => create(deps));
    const migrationSets = modules.flatMap((m) => (m.migrations ? [m.migrations] : []));
    if (opts.migrate !== false) await migrate(db, migrationSets);

    const http = await createHttp({
      logger,
      bodyLimit: config.BODY_LIMIT_BYTES,
      version: VERSION,
      ingestRateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    });
    registerMetricsRoute(http, metrics);
    registerRecentRates(http, metrics);
    http.get('/healthz', { schema: { tags: ['platform'], summary: 'The process is up' } }, async () => ({
      status: 'ok',
      version: VERSION,
      uptime_seconds: Math.round(process.uptime()),
    }));
    http.get(
      '/readyz',
      { schema: { tags: ['platform'], summary: 'The database is reachable and migrated' } },
      async (_req, reply) => {
        // The embedded database is in this process: it cannot be unreachable, only closed (which fails
        // at once) or busy with a long statement ahead in its one connection's queue, which is not a
        // reason to take the instance out of service.
        const timeoutMs = db.kind === 'pglite' ? 15_000 : 2000;
        if (!(await reachable(db, timeoutMs))) {
          return sendProblem(reply, 503, 'DATABASE_UNAVAILABLE', 'The database is not reachable', 2);
        }
        const pending = await pendingMigrations(db, migrationSets);
        if (pending.length > 0) {
          return sendProblem(
            reply,
            503,
            'MIGRATIONS_PENDING',
            `Migrations not applied: ${pending.join(', ')}`,
            5,
          );
        }
        return { status: 'ready', database: db.kind };
      },
    );
    for (const m of modules) if (m.routes) await http.register(async (scope) => m.routes!(scope as App));
    if (opts.dashboard && role !== 'worker') await registerDashboard(http, opts.dashboard);

    const background = role !== 'api';
    await jobs.start({ work: background });
    for (const m of modules) await m.start?.({ background });

    let closed = false;
    return {
      http,
      db,
      jobs,
      modules,
      config,
      logger,
      async listen() {
        return http.listen({ port: config.PORT, host: config.HOST });
      },
      async close() {
        if (closed) return;
        closed = true;
        // Stop taking requests first, then flush what was accepted, then background work. What it
        // waits for is logged every 10 s, so a shutdown that hangs says where.
        let waitingFor = 'http: requests in flight';
        const started = Date.now();
        const watchdog = setInterval(() => {
          const seconds = Math.round((Date.now() - started) / 1000);
          logger.warn({ waitingFor, seconds }, `shutdown: still waiting for ${waitingFor}`);
        }, 10_000).unref();
        try {
          await http.close();
          for (const m of [...modules].reverse()) {
            waitingFor = `module ${m.name}`;
            try {
              await m.stop?.();
            } catch (err) {
              logger.error({ err, module: m.name }, 'module failed to stop cleanly');
            }
          }
          waitingFor = 'background jobs';
          await jobs.stop();
          waitingFor = 'database';
          if (ownsDb) await db.close();
        } finally {
          clearInterval(watchdog);
        }
      },
    };
  } catch (e) {
    if (ownsDb) await db.close().catch(() => {});
    throw e;
  }
}

/**
 * Whether `select 1` succeeds within `timeoutMs`; on PostgreSQL trying again every 50 ms. A pool's idle
 * connections that the server ended (a restart, pg_terminate_backend) fail once each before the pool
 * drops them: that is not an outage, so one failure is not the answer; a database that stays
 * unreachable for the whole timeout is.
 */
async function reachable(db: Db, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      db.query('select 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), left);
      }),
    ]);
    clearTimeout(timer);
    if (ok) return true;
    if (db.kind === 'pglite') return false; // in this process: a failure is its closing, not a stale link
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(0, deadline - Date.now()))));
  }
}
