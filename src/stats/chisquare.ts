// Pearson's chi-square goodness-of-fit test.
import chiSquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';

export interface ChiSquareResult {
  statistic: number;
  /** Categories - 1. */
  df: number;
  /** Upper-tail p-value P(X² >= statistic). */
  p: number;
}

/**
 * Tests observed counts against expected proportions given as positive weights (normalised here, so
 * [1, 1] and [0.5, 0.5] mean the same). Counts need not be integers (weighted counts are allowed).
 *
 * Throws RangeError on a length mismatch, fewer than 2 categories, a negative or non-finite count, or a
 * weight that is not finite and > 0. With no observations at all there is nothing to reject:
 * { statistic: 0, df: k - 1, p: 1 }.
 */
export function chiSquareGoodnessOfFit(observed: number[], expectedProportions: number[]): ChiSquareResult {
  const k = observed.length;
  if (expectedProportions.length !== k) {
    throw new RangeError(
      `chiSquareGoodnessOfFit: ${k} observed counts but ${expectedProportions.length} expected proportions`,
    );
  }
  if (k < 2) throw new RangeError(`chiSquareGoodnessOfFit: need at least 2 categories, got ${k}`);
  let total = 0;
  let weightSum = 0;
  for (let i = 0; i < k; i++) {
    const count = observed[i]!;
    const weight = expectedProportions[i]!;
    if (!(count >= 0) || count === Number.POSITIVE_INFINITY) {
      throw new RangeError(`chiSquareGoodnessOfFit: observed[${i}] must be finite and >= 0, got ${count}`);
    }
    if (!(weight > 0) || weight === Number.POSITIVE_INFINITY) {
      throw new RangeError(
        `chiSquareGoodnessOfFit: expectedProportions[${i}] must be finite and > 0, got ${weight}`,
      );
    }
    total += count;
    weightSum += weight;
  }
  const df = k - 1;
  if (total === 0) return { statistic: 0, df, p: 1 };
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const expected = (total * expectedProportions[i]!) / weightSum;
    const d = observed[i]! - expected;
    statistic += (d * d) / expected;
  }
  // stdlib has no chi-square survival function, so 1 - cdf: exact enough for decisions, but p-values below
  // ~1e-16 round to 0. Clamped because rounding can push the difference a hair outside [0, 1].
  const p = Math.min(1, Math.max(0, 1 - chiSquareCdf(statistic, df)));
  return { statistic, df, p };
}
