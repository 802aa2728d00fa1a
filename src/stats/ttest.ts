// Welch's unequal-variance two-sample t-test, two-sided.
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import { momentsOf, sampleVariance } from './descriptive';

/** Summary of one sample: size, mean and unbiased sample variance (divisor n - 1). */
export interface SampleSummary {
  n: number;
  mean: number;
  variance: number;
}

export interface WelchResult {
  /** Positive when b's mean is above a's. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom; NaN when both variances are 0. */
  df: number;
  /** Two-sided p-value. */
  p: number;
  /** b.mean - a.mean. */
  meanDiff: number;
}

function check(s: SampleSummary, name: string): void {
  if (!(s.n >= 2)) throw new RangeError(`welchTTest: ${name}.n must be at least 2, got ${s.n}`);
  if (!Number.isFinite(s.mean)) {
    throw new RangeError(`welchTTest: ${name}.mean must be finite, got ${s.mean}`);
  }
  if (!(s.variance >= 0) || s.variance === Number.POSITIVE_INFINITY) {
    throw new RangeError(`welchTTest: ${name}.variance must be finite and >= 0, got ${s.variance}`);
  }
}

/**
 * Welch's t-test of H0: mean(a) = mean(b) against the two-sided alternative.
 *
 * Throws RangeError when either n < 2 (no variance estimate), a mean is not finite, or a variance is
 * negative or not finite. When both variances are 0 (no spread at all, so no t distribution):
 * equal means give { t: 0, df: NaN, p: 1 }; different means give { t: ±Infinity, df: NaN, p: 0 }.
 */
export function welchTTest(a: SampleSummary, b: SampleSummary): WelchResult {
  check(a, 'a');
  check(b, 'b');
  const meanDiff = b.mean - a.mean;
  const seA = a.variance / a.n;
  const seB = b.variance / b.n;
  const se2 = seA + seB;
  if (se2 === 0) {
    if (meanDiff === 0) return { t: 0, df: Number.NaN, p: 1, meanDiff };
    const t = meanDiff > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    return { t, df: Number.NaN, p: 0, meanDiff };
  }
  const t = meanDiff / Math.sqrt(se2);
  // Welch–Satterthwaite df = se2² / (seA²/(nA-1) + seB²/(nB-1)), written with the shares seA/se2 and
  // seB/se2 so tiny variances cannot underflow to 0/0.
  const shareA = seA / se2;
  const shareB = seB / se2;
  const df = 1 / ((shareA * shareA) / (a.n - 1) + (shareB * shareB) / (b.n - 1));
  // Twice the lower tail at -|t|, not 1 - cdf(|t|): keeps small p-values accurate instead of rounding to 0.
  const p = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  return { t, df, p, meanDiff };
}

/** welchTTest on raw samples; the same RangeErrors apply (each sample needs at least 2 values). */
export function welchTTestSamples(a: ArrayLike<number>, b: ArrayLike<number>): WelchResult {
  const ma = momentsOf(a);
  const mb = momentsOf(b);
  return welchTTest(
    { n: ma.n, mean: ma.mean, variance: sampleVariance(ma) },
    { n: mb.n, mean: mb.mean, variance: sampleVariance(mb) },
  );
}
