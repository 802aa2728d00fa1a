/**
 * devices module: device telemetry ingest, exact aggregates per device and per user (hourly rollups,
 * median indexes kept current in the background), a time series for charts, and a background
 * recalculation of the stored all-time aggregates. The composition root uses only `createDevicesModule`.
 */
import type { Db } from '../../platform/db';
import { ingestBatch } from '../../platform/ingest';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { type AggregatesStore, createAggregatesStore } from './aggregates.store';
import { readingsRoutes } from './http/readings.routes';
import { seriesRoutes } from './http/series.routes';
import { tasksRoutes } from './http/tasks.routes';
import { usersRoutes } from './http/users.routes';
import { createMedianIndex, type MedianIndexOptions } from './median.index';
import { createMedianIndexer } from './median.indexer';
import { createDevicesMetrics } from './metrics';
import { createReadingsService } from './readings.service';
import { createReadingsStore } from './readings.store';
import { createRecalcService } from './recalc.service';
import { createRollupsStore } from './rollups.store';
import { createSeriesService } from './series.service';
import { createSeriesStore } from './series.store';
import { createTasksStore } from './tasks.store';
import { createUsersService } from './users.service';
import { createUsersStore } from './users.store';

export interface DevicesModuleOptions {
  /** Replaces the aggregates store (tests inject failures into the recalculation this way). */
  aggregatesStore?: (db: Db) => AggregatesStore;
  /** Devices per recalculation statement; progress is reported after each. */
  recalcChunkSize?: number;
  /** Median index sizes (tests use tiny buckets). */
  medianIndex?: Partial<MedianIndexOptions>;
  /** How often background processes bring median indexes up to date (default 2 s). */
  medianIndexIntervalMs?: number;
  /** Average readings per bucket from which a series is answered per bucket (default 4,096). */
  seriesIndexMinPerBucket?: number;
}

export function createDevicesModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'jobs' | 'logger' | 'metrics' | 'clock' | 'adminGuard'>,
  options: DevicesModuleOptions = {},
): TelelabModule {
  const { config, db } = deps;
  const metrics = createDevicesMetrics(deps.metrics);

  const aggregates =
    options.aggregatesStore?.(db) ??
    createAggregatesStore(db, {
      onIndexMismatch: (deviceId, period) =>
        deps.logger.warn({ deviceId, period }, 'devices median index disagrees with rollups; sorted instead'),
    });
  const medianIndex = createMedianIndex(db, options.medianIndex);
  const indexer = createMedianIndexer({
    index: medianIndex,
    logger: deps.logger,
    intervalMs: options.medianIndexIntervalMs ?? 2000,
  });
  const readingsStore = createReadingsStore(db);
  const readings = createReadingsService({
    readings: readingsStore,
    aggregates,
    clock: deps.clock,
    ...ingestBatch(deps, 'devices', { help: 'Time to commit one micro-batch of single readings' }),
    onStored: metrics.readingsStored,
  });
  const series = createSeriesService({
    series: createSeriesStore(db),
    readings: readingsStore,
    aggregates,
    indexMinPerBucket: options.seriesIndexMinPerBucket,
  });
  const users = createUsersService({ users: createUsersStore(db), aggregates });
  const recalc = createRecalcService({
    jobs: deps.jobs,
    tasks: createTasksStore(db),
    aggregates,
    rollups: createRollupsStore(db),
    medianIndex,
    logger: deps.logger,
    cron: config.DEVICES_RECALC_CRON,
    chunkSize: options.recalcChunkSize ?? 50,
    onOutcome: metrics.recalculated,
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
    async start(ctx) {
      if (ctx.background) indexer.start();
    },
    async stop() {
      recalc.stop();
      await indexer.stop();
      await readings.stop();
    },
  };
}
