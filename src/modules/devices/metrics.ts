/** The devices module's Prometheus metrics (`telelab_devices_*`); the batch flush histogram is ingestBatch's. */
import { counter, type Metrics } from '../../platform/metrics';

export function createDevicesMetrics(metrics: Metrics) {
  const stored = counter(metrics, 'telelab_devices_readings_stored_total', 'Readings committed');
  const recalculations = counter(
    metrics,
    'telelab_devices_recalculations_total',
    'Recalculations by outcome',
    ['outcome'],
  );
  return {
    readingsStored: (rows: number) => stored.inc(rows),
    recalculated: (outcome: 'completed' | 'failed') => recalculations.inc({ outcome }),
  };
}
