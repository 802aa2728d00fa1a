/**
 * An experiment's cumulative numbers: counters and HDR histograms summed over every second of every
 * run segment (a run resumed after a restart adds to what the earlier segments recorded).
 */
import {
  createLatencyHistogram,
  decodeHistogram,
  type LatencyHistogram,
  type LatencySummary,
  mergeInto,
  summarizeHistogram,
} from '../../stats/histogram';
import { evaluateThresholds, type LoadCounters, type Thresholds } from './engine';
import type { ExperimentSummary, LoadProfile } from './model';

export interface Totals extends LoadCounters {
  histogram: LatencyHistogram;
  rawHistogram: LatencyHistogram | null;
}

export const EMPTY_LATENCY: LatencySummary = Object.freeze({
  count: 0,
  min: 0,
  mean: 0,
  max: 0,
  p50: 0,
  p90: 0,
  p99: 0,
  p999: 0,
});

export function emptySummary(): ExperimentSummary {
  return {
    requests: 0,
    successes: 0,
    failures: 0,
    success_rate: null,
    error_rate: null,
    failures_by_kind: {},
    status_codes: {},
    late: 0,
    dropped: 0,
    active_ms: 0,
    rps: 0,
    latency: { ...EMPTY_LATENCY },
    raw_latency: null,
    thresholds: null,
  };
}

/** The totals an experiment row holds, ready to add the next seconds to. */
export function totalsOf(
  summary: ExperimentSummary,
  histogram: string | null,
  rawHistogram: string | null,
  open: boolean,
): Totals {
  return {
    requests: summary.requests,
    successes: summary.successes,
    failures: summary.failures,
    failuresByKind: { ...summary.failures_by_kind },
    statusCodes: { ...summary.status_codes },
    late: summary.late,
    dropped: summary.dropped,
    histogram: histogram ? decodeHistogram(histogram) : createLatencyHistogram(),
    rawHistogram: rawHistogram ? decodeHistogram(rawHistogram) : open ? createLatencyHistogram() : null,
  };
}

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const k in from) into[k] = (into[k] ?? 0) + from[k]!;
};

export function addSecond(
  t: Totals,
  s: LoadCounters & { histogram: LatencyHistogram; rawHistogram: LatencyHistogram | null },
): void {
  t.requests += s.requests;
  t.successes += s.successes;
  t.failures += s.failures;
  t.late += s.late;
  t.dropped += s.dropped;
  addCounts(t.failuresByKind, s.failuresByKind);
  addCounts(t.statusCodes, s.statusCodes);
  mergeInto(t.histogram, s.histogram);
  if (t.rawHistogram && s.rawHistogram) mergeInto(t.rawHistogram, s.rawHistogram);
}

/** Running time covered by a position in the profiles: the profiles before it plus the elapsed part. */
export function activeMsAt(profiles: LoadProfile[], index: number, elapsedMs: number): number {
  let ms = 0;
  for (let i = 0; i < Math.min(index, profiles.length); i++) ms += profiles[i]!.duration_seconds * 1000;
  return Math.round(ms + (index < profiles.length ? elapsedMs : 0));
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e5) / 1000 : null);

export function summarize(t: Totals, activeMs: number, thresholds: Thresholds | null): ExperimentSummary {
  const transportErrors = t.failures - (t.failuresByKind.status ?? 0);
  const latency = summarizeHistogram(t.histogram);
  const summary: ExperimentSummary = {
    requests: t.requests,
    successes: t.successes,
    failures: t.failures,
    success_rate: percent(t.successes, t.requests),
    error_rate: percent(transportErrors, t.requests),
    failures_by_kind: { ...t.failuresByKind },
    status_codes: { ...t.statusCodes },
    late: t.late,
    dropped: t.dropped,
    active_ms: activeMs,
    rps: activeMs > 0 ? Math.round((t.requests / activeMs) * 1e5) / 100 : 0,
    latency,
    raw_latency: t.rawHistogram ? summarizeHistogram(t.rawHistogram) : null,
    thresholds: null,
  };
  if (thresholds && Object.keys(thresholds).length > 0) {
    summary.thresholds = evaluateThresholds(thresholds, {
      requests: t.requests,
      latency,
      successRate: summary.success_rate ?? 0,
      errorRate: summary.error_rate ?? 0,
    });
  }
  return summary;
}
