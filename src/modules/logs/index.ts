/** logs module (seed 004): access-log ingest, gap-free cursor reads, syncer positions. */
import { counter, gauge, histogram } from '../../platform/metrics';
import { migrationSet } from '../../platform/migrate';
import type { ModuleDeps, TelelabModule } from '../../platform/module';
import { logsRoutes } from './logs.routes';
import { createLogsService } from './logs.service';
import { createLogsStore } from './logs.store';

export function createLogsModule(deps: Pick<ModuleDeps, 'db' | 'config' | 'metrics'>): TelelabModule {
  const accepted = counter(deps.metrics, 'telelab_logs_lines_accepted_total', 'Log lines stored');
  const rejected = counter(
    deps.metrics,
    'telelab_logs_lines_rejected_total',
    'Log lines rejected, by field',
    ['reason'],
  );
  const flushSeconds = histogram(deps.metrics, 'telelab_logs_batch_flush_seconds', 'Batch insert duration', [
    'ok',
  ]);
  const store = createLogsStore(deps.db);
  const service = createLogsService({
    store,
    batch: {
      maxRows: deps.config.BATCH_MAX_ROWS,
      maxDelayMs: deps.config.BATCH_MAX_DELAY_MS,
      maxQueue: deps.config.BATCH_MAX_QUEUE,
    },
    onAccepted: (n) => accepted.inc(n),
    onRejected: (reason) => rejected.inc({ reason }),
    onFlush: ({ ms, ok }) => flushSeconds.observe({ ok: String(ok) }, ms / 1000),
  });
  gauge(
    deps.metrics,
    'telelab_logs_syncer_lag_records',
    'Records a syncer has not written yet (from the positions syncers report)',
    ['syncer'],
    async function collect() {
      this.reset();
      for (const s of await store.syncers().catch(() => []))
        if (s.lag !== null) this.set({ syncer: s.name }, s.lag);
    },
  );

  return {
    name: 'logs',
    migrations: migrationSet('logs'),
    routes: (app) => logsRoutes(app, service),
    stop: () => service.close(),
  };
}
