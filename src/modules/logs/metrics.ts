/** The logs module's Prometheus metrics, `telelab_logs_*`. */
import type { FlushObserver } from '../../platform/ingest';
import { counter, gauge, histogram, type Metrics } from '../../platform/metrics';
import type { SyncerPosition } from './model';

export function createLogsMetrics(registry: Metrics, syncers: () => Promise<SyncerPosition[]>) {
  const accepted = counter(registry, 'telelab_logs_lines_accepted_total', 'Log lines stored');
  const rejected = counter(registry, 'telelab_logs_lines_rejected_total', 'Log lines rejected, by field', [
    'reason',
  ]);
  const flushSeconds = histogram(registry, 'telelab_logs_batch_flush_seconds', 'Batch insert duration', [
    'ok',
  ]);
  gauge(
    registry,
    'telelab_logs_syncer_lag_records',
    'Records a syncer has not written yet (from the positions syncers report)',
    ['syncer'],
    async function collect() {
      this.reset();
      for (const s of await syncers().catch(() => []))
        if (s.lag !== null) this.set({ syncer: s.name }, s.lag);
    },
  );
  return {
    onAccepted: (n: number) => accepted.inc(n),
    onRejected: (reason: string) => rejected.inc({ reason }),
    onFlush: (({ ms, ok }) => flushSeconds.observe({ ok: String(ok) }, ms / 1000)) satisfies FlushObserver,
  };
}
