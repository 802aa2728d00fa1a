/**
 * devices module (seed 001): device telemetry ingest, exact aggregates per device and per user,
 * background recalculation. The composition root uses only `createDevicesModule`.
 */
import type { Db } from '../../platform/db';
import { counter, histogram } from '../../platform/metrics';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { type AggregatesStore, createAggregatesStore } from './aggregates.store';
import { readingsRoutes } from './readings.routes';
import { createReadingsService } from './readings.service';
import { createReadingsStore } from './readings.store';
import { createRecalcService } from './recalc.service';
import { createRollupsStore } from './rollups.store';
import { seriesRoutes } from './series.routes';
import { createSeriesService } from './series.service';
import { createSeriesStore } from './series.store';
import { tasksRoutes } from './tasks.routes';
import { createTasksStore } from './tasks.store';
import { usersRoutes } from './users.routes';
import { createUsersService } from './users.service';
import { createUsersStore } from './users.store';

export interface DevicesModuleOptions {
  /** Replaces the aggregates store (tests inject failures into the recalculation this way). */
  aggregatesStore?: (db: Db) => AggregatesStore;
  /** Devices per recalculation statement; progress is reported after each. */
  recalcChunkSize?: number;
}

export function createDevicesModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'jobs' | 'logger' | 'metrics' | 'clock' | 'adminGuard'>,
  options: DevicesModuleOptions = {},
): TelelabModule {
  const { config, db, metrics } = deps;
  const stored = counter(metrics, 'telelab_devices_readings_stored_total', 'Readings committed');
  const flushSeconds = histogram(
    metrics,
    'telelab_devices_batch_flush_seconds',
    'Time to commit one micro-batch of single readings',
    ['ok'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  const recalcs = counter(metrics, 'telelab_devices_recalculations_total', 'Recalculations by outcome', [
    'outcome',
  ]);

  const aggregates = (options.aggregatesStore ?? createAggregatesStore)(db);
  const readingsStore = createReadingsStore(db);
  const readings = createReadingsService({
    readings: readingsStore,
    aggregates,
    clock: deps.clock,
    batch: {
      maxRows: config.BATCH_MAX_ROWS,
      maxDelayMs: config.BATCH_MAX_DELAY_MS,
      maxQueue: config.BATCH_MAX_QUEUE,
      // PGlite has one connection. On PostgreSQL up to 4 batches commit at once (group commit shares
      // the WAL flush); with 64 clients on 2 cores that beat 1 and 2 and matched 8.
      concurrency: db.kind === 'postgres' ? 4 : 1,
    },
    onStored: (n) => stored.inc(n),
    onFlush: ({ ms, ok }) => flushSeconds.observe({ ok: String(ok) }, ms / 1000),
  });
  const series = createSeriesService({ series: createSeriesStore(db), readings: readingsStore });
  const users = createUsersService({ users: createUsersStore(db), aggregates });
  const recalc = createRecalcService({
    jobs: deps.jobs,
    tasks: createTasksStore(db),
    aggregates,
    rollups: createRollupsStore(db),
    logger: deps.logger,
    cron: config.DEVICES_RECALC_CRON,
    chunkSize: options.recalcChunkSize ?? 50,
    onOutcome: (outcome) => recalcs.inc({ outcome }),
  });

  return {
    name: 'devices',
    migrations: migrationSet('devices'),
    routes(app) {
      readingsRoutes(app, readings, { batchLimit: config.DEVICES_BATCH_LIMIT });
      seriesRoutes(app, series);
      usersRoutes(app, users, deps.adminGuard);
      tasksRoutes(app, recalc, deps.adminGuard);
    },
    async stop() {
      recalc.stop();
      await readings.stop();
    },
  };
}
