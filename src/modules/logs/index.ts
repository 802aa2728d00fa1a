/** The logs module: access-log ingest, gap-free cursor reads, syncer positions. */
import { batchSettings } from '../../platform/ingest';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { ingestRoutes } from './http/ingest.routes';
import { recordsRoutes } from './http/records.routes';
import { syncersRoutes } from './http/syncers.routes';
import { createLogsService } from './logs.service';
import { createLogsStore } from './logs.store';
import { createLogsMetrics } from './metrics';

export function createLogsModule(deps: Pick<ModuleDeps, 'db' | 'config' | 'metrics'>): TelelabModule {
  const store = createLogsStore(deps.db);
  const service = createLogsService({
    store,
    // One flush at a time: every writer shares one lane on the database (see logs.store.ts), so a
    // second concurrent flush from this process would only wait for it.
    batch: batchSettings(deps, { ordered: true }),
    ...createLogsMetrics(deps.metrics, store.syncers),
  });
  return {
    name: 'logs',
    migrations: migrationSet('logs'),
    routes(app) {
      ingestRoutes(app, service);
      recordsRoutes(app, service);
      syncersRoutes(app, service);
    },
    stop: () => service.close(),
  };
}
