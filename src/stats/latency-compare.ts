/**
 * Comparing two latency distributions held in HDR histograms (a baseline and a candidate).
 *
 * The test is Mann–Whitney U (Wilcoxon rank-sum) with the tie correction, computed from the histogram's
 * buckets: latency is skewed and heavy-tailed, so a test of means (t-test) is driven by a few outliers and
 * its normal assumption does not hold, while a rank test needs no distribution and asks the question that
 * matters — is a candidate request slower than a baseline one more often than not? The buckets are the
 * data: values that share a bucket are indistinguishable at the histogram's precision and count as ties,
 * so the test costs O(buckets), not O(requests), and two histograms of a million requests compare in
 * microseconds. The large-sample normal approximation (with a continuity correction, as SciPy's default)
 * is used; load tests have hundreds of samples or more.
 *
 * Per percentile, a distribution-free 95 % confidence interval (from order statistics: the ranks
 * n·q ± 1.96·√(n·q·(1−q))) says whether a percentile moved beyond what sampling alone explains:
 * two intervals that do not overlap.
 */
import chiSquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { JsHistogram } from 'hdr-histogram-js';
import type { LatencyHistogram } from './histogram';

/** A distinct value and how many samples had it; lists are sorted by value, ascending. */
export interface WeightedValue {
  value: number;
  count: number;
}

/** The non-empty buckets of an HDR histogram (value: the bucket's highest equivalent value). */
export function histogramCounts(h: LatencyHistogram): WeightedValue[] {
  if (!(h instanceof JsHistogram))
    throw new TypeError('histogramCounts: needs a JS (not WebAssembly) histogram');
  const out: WeightedValue[] = [];
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    out.push({ value: v.valueIteratedTo, count: v.countAtValueIteratedTo });
  }
  return out;
}

/** P(Z ≥ z) for a standard normal Z (through χ²₁ = Z², as stdlib has no normal CDF here). */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const twoSided = Math.min(1, Math.max(0, 1 - chiSquareCdf(z * z, 1)));
  return z >= 0 ? twoSided / 2 : 1 - twoSided / 2;
}

export interface MannWhitneyResult {
  n1: number;
  n2: number;
  /** U of the second sample: pairs (x from 1, y from 2) with y > x, plus half the ties. */
  u: number;
  /** u / (n1·n2): P(Y > X) + P(Y = X)/2; 0.5 when neither tends to be larger. */
  auc: number;
  /** (u − n1·n2/2) / σ, σ tie-corrected; no continuity correction. 0 when σ = 0. */
  z: number;
  /** Two-sided p (continuity-corrected). */
  p: number;
  /** One-sided p for "sample 2 tends to be larger" (continuity-corrected). */
  pGreater: number;
  /** One-sided p for "sample 2 tends to be smaller". */
  pLess: number;
}

/** Mann–Whitney U of two weighted samples (each sorted by value), large-sample normal approximation. */
export function mannWhitneyU(x: readonly WeightedValue[], y: readonly WeightedValue[]): MannWhitneyResult {
  let n1 = 0;
  let n2 = 0;
  for (const w of x) n1 += w.count;
  for (const w of y) n2 += w.count;
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU: both samples need at least one value');
  // Walk both lists in value order: every distinct value is one tie group with the average rank.
  let i = 0;
  let j = 0;
  let below = 0;
  let rankSum2 = 0;
  let tieSum = 0;
  while (i < x.length || j < y.length) {
    const vx = i < x.length ? x[i]!.value : Number.POSITIVE_INFINITY;
    const vy = j < y.length ? y[j]!.value : Number.POSITIVE_INFINITY;
    const v = Math.min(vx, vy);
    const c1 = vx === v ? x[i++]!.count : 0;
    const c2 = vy === v ? y[j++]!.count : 0;
    const t = c1 + c2;
    rankSum2 += c2 * (below + (t + 1) / 2);
    tieSum += t * t * t - t;
    below += t;
  }
  const n = n1 + n2;
  const u = rankSum2 - (n2 * (n2 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1)));
  const sigma = variance > 0 ? Math.sqrt(variance) : 0;
  const d = u - mean;
  if (sigma === 0) return { n1, n2, u, auc: u / (n1 * n2), z: 0, p: 1, pGreater: 1, pLess: 1 };
  const twoSidedZ = Math.max(0, Math.abs(d) - 0.5) / sigma;
  return {
    n1,
    n2,
    u,
    auc: u / (n1 * n2),
    z: d / sigma,
    p: Math.min(1, 2 * normalUpperTail(twoSidedZ)),
    pGreater: normalUpperTail((d - 0.5) / sigma),
    pLess: normalUpperTail((-d - 0.5) / sigma),
  };
}

/** The value of the k-th smallest sample (1-based) of a weighted list. */
function valueAtRank(counts: readonly WeightedValue[], k: number): number {
  let seen = 0;
  for (const w of counts) {
    seen += w.count;
    if (seen >= k) return w.value;
  }
  return counts[counts.length - 1]!.value;
}

/**
 * A distribution-free confidence interval for the q-quantile (0 < q < 1) of the population a weighted
 * sample came from: the order statistics at ranks n·q ∓ z·√(n·q·(1−q)) (normal approximation to the
 * binomial count of samples below the quantile; z = 1.96 for 95 %).
 */
export function quantileInterval(
  counts: readonly WeightedValue[],
  q: number,
  z = 1.96,
): { low: number; high: number } {
  let n = 0;
  for (const w of counts) n += w.count;
  if (n === 0) throw new RangeError('quantileInterval: empty sample');
  const half = z * Math.sqrt(n * q * (1 - q));
  const lowRank = Math.max(1, Math.floor(n * q - half));
  const highRank = Math.min(n, Math.ceil(n * q + half) + 1);
  return { low: valueAtRank(counts, lowRank), high: valueAtRank(counts, highRank) };
}

export interface TwoProportionResult {
  /** rate2 − rate1 (fractions). */
  diff: number;
  /** Pooled two-proportion z; 0 when the pooled rate is 0 or 1. */
  z: number;
  /** One-sided p for "proportion 2 is larger". */
  pGreater: number;
  /** One-sided p for "proportion 2 is smaller". */
  pLess: number;
}

/** Two-proportion z-test (pooled variance), k of n "events" in each sample. */
export function twoProportionZ(k1: number, n1: number, k2: number, n2: number): TwoProportionResult {
  if (!(n1 > 0 && n2 > 0)) throw new RangeError('twoProportionZ: both samples need n > 0');
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const pooled = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const z = se > 0 ? (p2 - p1) / se : 0;
  return {
    diff: p2 - p1,
    z,
    pGreater: se > 0 ? normalUpperTail(z) : 1,
    pLess: se > 0 ? normalUpperTail(-z) : 1,
  };
}
