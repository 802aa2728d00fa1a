import { createLatencyHistogram, type LatencyHistogram, mergeInto } from '../../../stats/histogram';
import type { LoadCounters } from './types';

/** Counters and histograms of one second of a run, or of the whole run. */
export class Bucket implements LoadCounters {
  requests = 0;
  successes = 0;
  failures = 0;
  failuresByKind: Record<string, number> = {};
  statusCodes: Record<string, number> = {};
  late = 0;
  dropped = 0;
  readonly histogram = createLatencyHistogram();
  readonly rawHistogram: LatencyHistogram | null;
  constructor(
    public startedAt: number,
    withRaw: boolean,
  ) {
    this.rawHistogram = withRaw ? createLatencyHistogram() : null;
  }
  addTo(total: Bucket): void {
    total.requests += this.requests;
    total.successes += this.successes;
    total.failures += this.failures;
    total.late += this.late;
    total.dropped += this.dropped;
    for (const k in this.failuresByKind)
      total.failuresByKind[k] = (total.failuresByKind[k] ?? 0) + this.failuresByKind[k]!;
    for (const k in this.statusCodes)
      total.statusCodes[k] = (total.statusCodes[k] ?? 0) + this.statusCodes[k]!;
    mergeInto(total.histogram, this.histogram);
    if (this.rawHistogram && total.rawHistogram) mergeInto(total.rawHistogram, this.rawHistogram);
  }
  counters(): LoadCounters {
    const { requests, successes, failures, late, dropped } = this;
    return {
      requests,
      successes,
      failures,
      failuresByKind: { ...this.failuresByKind },
      statusCodes: { ...this.statusCodes },
      late,
      dropped,
    };
  }
}
