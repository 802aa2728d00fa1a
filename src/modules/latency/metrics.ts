/** The latency module's Prometheus metrics, `telelab_latency_*`. */
import { counter, gauge, type Metrics } from '../../platform/metrics';
import type { SecondBucket } from './engine';

/** Registers the metrics; returns what the runner reports every second of a run to. */
export function createLatencyMetrics(
  registry: Metrics,
  activeRuns: () => number,
): (bucket: SecondBucket) => void {
  const requests = counter(registry, 'telelab_latency_requests_total', 'Requests sent by experiment runs', [
    'outcome',
  ]);
  // Read at scrape time.
  gauge(
    registry,
    'telelab_latency_runs_active',
    'Experiment runs executing in this process',
    [],
    function () {
      this.set(activeRuns());
    },
  );
  return (b) => {
    requests.inc({ outcome: 'success' }, b.successes);
    requests.inc({ outcome: 'failure' }, b.failures);
  };
}
