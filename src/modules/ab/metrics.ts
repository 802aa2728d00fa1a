/** The ab module's Prometheus metrics, `telelab_ab_*`. */
import { counter, gauge, type Metrics } from '../../platform/metrics';
import type { AssignmentObserver } from './assignment.service';

/** Registers the metrics; returns the observer the assignment service reports to. */
export function createAbMetrics(registry: Metrics, cacheEntries: () => number): AssignmentObserver {
  const hits = counter(
    registry,
    'telelab_ab_cache_hits_total',
    'A/B answers served from the in-process cache',
  );
  const misses = counter(
    registry,
    'telelab_ab_cache_misses_total',
    'A/B answers not in the cache (resolved through the database)',
  );
  const entered = counter(registry, 'telelab_ab_devices_entered_total', 'New devices recorded and assigned');
  // Read at scrape time.
  gauge(registry, 'telelab_ab_cache_entries', 'Devices in the A/B answer cache', [], function collect() {
    this.set(cacheEntries());
  });
  return {
    cacheHit: () => hits.inc(),
    cacheMiss: () => misses.inc(),
    devicesEntered: (n) => entered.inc(n),
  };
}
