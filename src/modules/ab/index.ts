/**
 * The ab module (seed 002): sticky A/B assignment by Device-Token with exact proportions, new devices
 * only, a statistics page, and an answer cache for returning devices.
 */
import client from 'prom-client';
import { counter } from '../../platform/metrics';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { registerAdminRoutes } from './admin.routes';
import { createAssignmentService } from './assignment.service';
import { createAssignmentStore } from './assignment.store';
import { registerDeviceRoutes } from './devices.routes';
import { createExperimentsService } from './experiments.service';
import { createExperimentsStore } from './experiments.store';
import { registerStatsRoutes } from './stats.routes';

export function createAbModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'clock' | 'metrics' | 'adminGuard'>,
): TelelabModule {
  const { config, db, clock, metrics } = deps;
  const hits = counter(
    metrics,
    'telelab_ab_cache_hits_total',
    'A/B answers served from the in-process cache',
  );
  const misses = counter(
    metrics,
    'telelab_ab_cache_misses_total',
    'A/B answers not in the cache (resolved through the database)',
  );
  const entered = counter(metrics, 'telelab_ab_devices_entered_total', 'New devices recorded and assigned');
  const assignments = createAssignmentService({
    store: createAssignmentStore(db),
    clock,
    cacheSize: config.AB_CACHE_SIZE,
    batch: {
      maxRows: config.BATCH_MAX_ROWS,
      maxDelayMs: config.BATCH_MAX_DELAY_MS,
      maxQueue: config.BATCH_MAX_QUEUE,
      // On PostgreSQL further batches read and insert their devices while one holds the deck counters
      // and commits; PGlite has one connection, so a second batch would only queue behind the first.
      concurrency: db.kind === 'postgres' ? 4 : 1,
    },
    observe: {
      cacheHit: () => hits.inc(),
      cacheMiss: () => misses.inc(),
      devicesEntered: (n) => entered.inc(n),
    },
  });
  // Read at scrape time (the platform's gauge helper has no collect callback).
  new client.Gauge({
    name: 'telelab_ab_cache_entries',
    help: 'Devices in the A/B answer cache',
    registers: [metrics],
    collect() {
      this.set(assignments.cacheSize);
    },
  });

  const experimentsStore = createExperimentsStore(db);
  const experiments = createExperimentsService({
    store: experimentsStore,
    clock,
    onAnswersChanged: (epoch) => assignments.answersChanged(epoch),
  });

  return {
    name: 'ab',
    migrations: migrationSet('ab'),
    routes(app) {
      registerDeviceRoutes(app, assignments);
      registerStatsRoutes(app, experimentsStore, () => new Date(clock.now()));
      registerAdminRoutes(app, experiments, deps.adminGuard);
    },
    start: () => assignments.start(),
    stop: () => assignments.stop(),
  };
}
