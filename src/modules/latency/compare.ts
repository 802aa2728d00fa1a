/**
 * A candidate run against a baseline: per-percentile differences, the significance of the difference,
 * and a verdict. The statistics are in src/stats/latency-compare.ts (Mann–Whitney U on the HDR buckets,
 * order-statistic confidence intervals, a two-proportion z-test); this file applies the tolerance rule:
 *
 * - latency is **worse** when the candidate is stochastically slower (Mann–Whitney one-sided p < alpha)
 *   **and** at least one of p50, p90, p99 rose by more than the tolerance (max(tolerance_pct % of the
 *   baseline's value, tolerance_ms)) with the two 95 % intervals of that percentile apart;
 * - failures are **worse** when the failure rate (requests without a success status) rose by more than
 *   failure_pp percentage points with a two-proportion z-test p < alpha;
 * - the verdict is `worse` if either is worse, `better` if either improved by the mirror rule and none is
 *   worse, else `same`. Defaults: tolerance_pct 10, tolerance_ms 1, failure_pp 1, alpha 0.01.
 */
import { conflict, notFound } from '../../platform/errors';
import {
  decodeHistogram,
  type LatencyHistogram,
  type LatencySummary,
  summarizeHistogram,
} from '../../stats/histogram';
import {
  histogramCounts,
  mannWhitneyU,
  quantileInterval,
  twoProportionZ,
  type WeightedValue,
} from '../../stats/latency-compare';

/** What a comparison needs of a run: its latency histogram (µs) and its request counts. */
export interface ComparedRun {
  histogram: LatencyHistogram;
  requests: number;
  successes: number;
}

export interface Tolerance {
  /** Percent of the baseline's percentile (default 10). */
  tolerance_pct: number;
  /** Smallest change in ms that counts (default 1). */
  tolerance_ms: number;
  /** Percentage points of failure rate (default 1). */
  failure_pp: number;
  /** Significance level of the tests (default 0.01). */
  alpha: number;
}

export const DEFAULT_TOLERANCE: Tolerance = Object.freeze({
  tolerance_pct: 10,
  tolerance_ms: 1,
  failure_pp: 1,
  alpha: 0.01,
});

/** Reported percentiles; the verdict looks at p50, p90 and p99. */
export const COMPARED_PERCENTILES = [50, 90, 95, 99, 99.9] as const;
const VERDICT_PERCENTILES = new Set<number>([50, 90, 99]);

export type Verdict = 'worse' | 'better' | 'same';

export interface PercentileDiff {
  percentile: number;
  baseline_ms: number;
  candidate_ms: number;
  diff_ms: number;
  /** Relative to the baseline; null when the baseline's value is 0. */
  diff_pct: number | null;
  baseline_ci95_ms: [number, number];
  candidate_ci95_ms: [number, number];
  /** The two 95 % intervals do not overlap. */
  significant: boolean;
  /** worse / better beyond the tolerance and significant; same otherwise. */
  change: Verdict;
}

export interface RunSide {
  requests: number;
  successes: number;
  failure_rate: number;
  latency: LatencySummary;
}

export interface Comparison {
  baseline: RunSide;
  candidate: RunSide;
  percentiles: PercentileDiff[];
  /** The candidate against the baseline: auc = P(candidate slower) + ties/2. */
  mann_whitney: { u: number; auc: number; z: number; p_value: number; p_worse: number; p_better: number };
  failures: { diff_pp: number; p_worse: number; p_better: number; change: Verdict };
  tolerance: Tolerance;
  verdict: Verdict;
  /** One line per reason for a worse/better verdict. */
  reasons: string[];
}

const round = (x: number, digits = 3) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const ms = (us: number) => round(us / 1000);
const sig = (p: number) => Number(p.toPrecision(4));

/** Compares two runs; both need at least one measured latency (the caller says which one has none). */
export function compareRuns(
  baseline: ComparedRun,
  candidate: ComparedRun,
  tolerance: Tolerance = DEFAULT_TOLERANCE,
): Comparison {
  const a = histogramCounts(baseline.histogram);
  const b = histogramCounts(candidate.histogram);
  const mw = mannWhitneyU(a, b);
  const reasons: string[] = [];
  const percentiles = COMPARED_PERCENTILES.map((q) =>
    percentileDiff(q, baseline, candidate, a, b, tolerance),
  );
  const mwWorse = mw.pGreater < tolerance.alpha;
  const mwBetter = mw.pLess < tolerance.alpha;
  let latency: Verdict = 'same';
  for (const p of percentiles) {
    if (!VERDICT_PERCENTILES.has(p.percentile) || p.change === 'same') continue;
    if ((p.change === 'worse' && !mwWorse) || (p.change === 'better' && !mwBetter)) continue;
    if (p.change === 'worse') latency = 'worse';
    else if (latency === 'same') latency = 'better';
    const sign = p.diff_ms > 0 ? '+' : '';
    reasons.push(
      `p${p.percentile} ${p.baseline_ms} → ${p.candidate_ms} ms (${sign}${p.diff_ms} ms` +
        `${p.diff_pct === null ? '' : `, ${sign}${p.diff_pct} %`}; Mann–Whitney p = ` +
        `${sig(p.change === 'worse' ? mw.pGreater : mw.pLess)})`,
    );
  }

  const failRate = (r: ComparedRun) => (r.requests > 0 ? (r.requests - r.successes) / r.requests : 0);
  const fz =
    baseline.requests > 0 && candidate.requests > 0
      ? twoProportionZ(
          baseline.requests - baseline.successes,
          baseline.requests,
          candidate.requests - candidate.successes,
          candidate.requests,
        )
      : { diff: 0, pGreater: 1, pLess: 1 };
  const diffPp = round(fz.diff * 100);
  let failures: Verdict = 'same';
  if (diffPp > tolerance.failure_pp && fz.pGreater < tolerance.alpha) failures = 'worse';
  else if (-diffPp > tolerance.failure_pp && fz.pLess < tolerance.alpha) failures = 'better';
  if (failures !== 'same')
    reasons.push(
      `failure rate ${round(failRate(baseline) * 100)} → ${round(failRate(candidate) * 100)} % ` +
        `(two-proportion p = ${sig(failures === 'worse' ? fz.pGreater : fz.pLess)})`,
    );

  const verdict: Verdict =
    latency === 'worse' || failures === 'worse'
      ? 'worse'
      : latency === 'better' || failures === 'better'
        ? 'better'
        : 'same';
  const side = (r: ComparedRun): RunSide => ({
    requests: r.requests,
    successes: r.successes,
    failure_rate: round(failRate(r) * 100),
    latency: summarizeHistogram(r.histogram),
  });
  return {
    baseline: side(baseline),
    candidate: side(candidate),
    percentiles,
    mann_whitney: {
      u: mw.u,
      auc: round(mw.auc, 6),
      z: round(mw.z, 4),
      p_value: sig(mw.p),
      p_worse: sig(mw.pGreater),
      p_better: sig(mw.pLess),
    },
    failures: { diff_pp: diffPp, p_worse: sig(fz.pGreater), p_better: sig(fz.pLess), change: failures },
    tolerance,
    verdict,
    reasons,
  };
}

function percentileDiff(
  q: number,
  baseline: ComparedRun,
  candidate: ComparedRun,
  a: WeightedValue[],
  b: WeightedValue[],
  t: Tolerance,
): PercentileDiff {
  const base = baseline.histogram.getValueAtPercentile(q);
  const cand = candidate.histogram.getValueAtPercentile(q);
  const ia = quantileInterval(a, q / 100);
  const ib = quantileInterval(b, q / 100);
  const diff = cand - base;
  const significant = ib.low > ia.high || ib.high < ia.low;
  const beyond = Math.abs(diff) > Math.max((t.tolerance_pct / 100) * base, t.tolerance_ms * 1000);
  return {
    percentile: q,
    baseline_ms: ms(base),
    candidate_ms: ms(cand),
    diff_ms: ms(diff),
    diff_pct: base > 0 ? round((diff / base) * 100, 1) : null,
    baseline_ci95_ms: [ms(ia.low), ms(ia.high)],
    candidate_ci95_ms: [ms(ib.low), ms(ib.high)],
    significant,
    change: significant && beyond ? (diff > 0 ? 'worse' : 'better') : 'same',
  };
}

// ---- experiments ---------------------------------------------------------------------------------

/** What the comparison reads of an experiment (experiments.store.ts's Experiment has it). */
export interface StoredExperiment {
  id: string;
  state: string;
  histogram: string | null;
  summary: { requests: number; successes: number };
}

export interface ExperimentLookup {
  get(id: string): Promise<StoredExperiment | null>;
}

/** `compare_experiments`: unknown id → not found naming the parameter; nothing measured → conflict. */
export function createCompareService(experiments: ExperimentLookup) {
  async function load(field: 'baseline' | 'candidate', id: string): Promise<ComparedRun & { state: string }> {
    const e = await experiments.get(id);
    if (!e) throw notFound('LATENCY_EXPERIMENT_NOT_FOUND', `${field}: no experiment '${id}'`);
    const histogram = e.histogram ? decodeHistogram(e.histogram) : null;
    if (!histogram || histogram.totalCount === 0)
      throw conflict(
        'LATENCY_EXPERIMENT_NO_DATA',
        `${field}: experiment '${id}' (state ${e.state}) has no measured latency yet; start it and let it run`,
      );
    return { histogram, requests: e.summary.requests, successes: e.summary.successes, state: e.state };
  }

  return {
    async compareExperiments(
      baselineId: string,
      candidateId: string,
      tolerance: Tolerance = DEFAULT_TOLERANCE,
    ) {
      const baseline = await load('baseline', baselineId);
      const candidate = await load('candidate', candidateId);
      return {
        baseline_id: baselineId,
        candidate_id: candidateId,
        baseline_state: baseline.state,
        candidate_state: candidate.state,
        ...compareRuns(baseline, candidate, tolerance),
      };
    },
  };
}

export type CompareService = ReturnType<typeof createCompareService>;
