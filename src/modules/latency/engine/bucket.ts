import { createLatencyHistogram, type LatencyHistogram, mergeInto } from '../../../stats/histogram';
import type { LoadCounters } from './types';

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const k in from) into[k] = (into[k] ?? 0) + from[k]!;
};

/** Adds `from`'s counters to `into` (per-kind and per-status counts by key). */
export function addCounters(into: LoadCounters, from: LoadCounters): void {
  into.requests += from.requests;
  into.successes += from.successes;
  into.failures += from.failures;
  into.late += from.late;
  into.dropped += from.dropped;
  addCounts(into.failuresByKind, from.failuresByKind);
  addCounts(into.statusCodes, from.statusCodes);
}

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
    addCounters(total, this);
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
