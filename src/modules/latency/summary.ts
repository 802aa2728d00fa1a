/**
 * An experiment's cumulative numbers: counters and HDR histograms summed over every second of every
 * run segment (a run resumed after a restart adds to what the earlier segments recorded).
 */
import {
  createLatencyHistogram,
  decodeHistogram,
  EMPTY_LATENCY,
  encodeHistogram,
  type LatencyHistogram,
  mergeInto,
  summarizeHistogram,
} from '../../stats/histogram';
import {
  addCounters,
  evaluateThresholds,
  type LoadCounters,
  type ThresholdReport,
  type Thresholds,
} from './engine';
import type { ExperimentSettings, ExperimentSummary, ExperimentThresholds, LoadProfile } from './model';
import type { AbortCheck, MergeIntoExperiment, Position } from './runs.store';

export interface Totals extends LoadCounters {
  histogram: LatencyHistogram;
  rawHistogram: LatencyHistogram | null;
}

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
    interrupted: 0,
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

export function addSecond(
  t: Totals,
  s: LoadCounters & { histogram: LatencyHistogram; rawHistogram: LatencyHistogram | null },
): void {
  addCounters(t, s);
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
    interrupted: 0,
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

/** The further of two positions in the profiles (segments may be at different points of the run). */
export function furthest(a: Position, b: Position): Position {
  if (a.profileIndex !== b.profileIndex) return a.profileIndex > b.profileIndex ? a : b;
  return a.progressMs >= b.progressMs ? a : b;
}

export type SecondNumbers = LoadCounters & {
  histogram: LatencyHistogram;
  rawHistogram: LatencyHistogram | null;
};

/**
 * How a segment's news joins the experiment's merged numbers: its second (if any) is added to the
 * stored totals (counters add, HDR histograms merge exactly), the position becomes the furthest any
 * segment reached, and the summary and thresholds are computed again from the merged data.
 */
export function experimentMerge(
  settings: ExperimentSettings,
  second: SecondNumbers | null,
  position: Position,
): MergeIntoExperiment {
  return (row) => {
    const t = totalsOf(row.summary, row.histogram, row.rawHistogram, settings.model === 'arrival-rate');
    if (second) addSecond(t, second);
    const p = furthest({ profileIndex: row.profileIndex, progressMs: row.progressMs }, position);
    const activeMs = activeMsAt(settings.load_profiles, p.profileIndex, p.progressMs);
    const summary = summarize(t, activeMs, settings.thresholds);
    return {
      ...p,
      summary,
      histogram: encodeHistogram(t.histogram),
      rawHistogram: t.rawHistogram ? encodeHistogram(t.rawHistogram) : null,
      abort: abortCheck(settings.thresholds, summary.thresholds),
    };
  };
}

/**
 * With `abort`, whether the merged numbers fail a threshold now, how long that must hold before the
 * experiment fails, and the verdict naming the first failed threshold and the value measured.
 */
export function abortCheck(
  t: ExperimentThresholds | null,
  report: ThresholdReport | null,
): AbortCheck | null {
  if (!t?.abort || !report) return null;
  const failed = report.checks.find((c) => !c.passed);
  const afterMs = Math.round((t.abort_after_seconds ?? 0) * 1000);
  if (!failed) return { failed: false, afterMs, verdict: null };
  const measured = failed.actual === null ? 'nothing measured' : `measured ${failed.actual}`;
  const bound = failed.name === 'success_rate' ? 'minimum' : 'limit';
  return {
    failed: true,
    afterMs,
    verdict: `threshold ${failed.name} failed: ${measured}, ${bound} ${failed.limit}`,
  };
}
