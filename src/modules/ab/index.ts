/**
 * The ab module: sticky A/B assignment by Device-Token with exact proportions, new devices only, a
 * statistics page, and an answer cache for returning devices.
 */
import { batchSettings } from '../../platform/ingest';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { createAssignmentService } from './assignment.service';
import { createAssignmentStore } from './assignment.store';
import { createExperimentsService } from './experiments.service';
import { createExperimentsStore } from './experiments.store';
import { registerAdminRoutes } from './http/admin.routes';
import { registerDeviceRoutes } from './http/devices.routes';
import { registerStatsRoutes } from './http/stats.routes';
import { createAbMetrics } from './metrics';

export function createAbModule(
  deps: Pick<ModuleDeps, 'config' | 'db' | 'clock' | 'metrics' | 'adminGuard'>,
): TelelabModule {
  const { config, db, clock } = deps;
  const assignments = createAssignmentService({
    store: createAssignmentStore(db),
    clock,
    cacheSize: config.AB_CACHE_SIZE,
    // On PostgreSQL further batches read and insert their devices while one holds the deck counters.
    batch: batchSettings(deps),
    observe: createAbMetrics(deps.metrics, () => assignments.cacheSize),
  });
  const experiments = createExperimentsService({
    store: createExperimentsStore(db),
    clock,
    onAnswersChanged: (epoch) => assignments.answersChanged(epoch),
  });

  return {
    name: 'ab',
    migrations: migrationSet('ab'),
    routes(app) {
      registerDeviceRoutes(app, assignments);
      registerStatsRoutes(app, experiments);
      registerAdminRoutes(app, experiments, deps.adminGuard);
    },
    start: () => assignments.start(),
    stop: () => assignments.stop(),
  };
}
