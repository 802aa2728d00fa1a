import chi2gof from '@stdlib/stats-chi2gof';
import { describe, expect, it } from 'vitest';
import { chiSquareGoodnessOfFit } from './chisquare';
import { mulberry32 as rng } from './random';

describe('chiSquareGoodnessOfFit known answers', () => {
  it("matches Mendel's dihybrid peas against 9:3:3:1", () => {
    // Mendel (1866): 315 round yellow, 108 round green, 101 wrinkled yellow, 32 wrinkled green (556 peas).
    // R's chisq.test(c(315, 108, 101, 32), p = c(9, 3, 3, 1) / 16) prints X-squared = 0.47002, df = 3,
    // p-value = 0.9254; SciPy 1.17.1 chisquare gives 0.4700239808153477 and p 0.925425895103616.
    const r = chiSquareGoodnessOfFit([315, 108, 101, 32], [9, 3, 3, 1]);
    expect(r.df).toBe(3);
    expect(r.statistic).toBeCloseTo(0.4700239808153477, 12);
    expect(r.p).toBeCloseTo(0.925425895103616, 9);
  });

  it('matches the loaded-die example', () => {
    // Wikipedia, "Pearson's chi-squared test": 60 rolls with counts 5 8 9 8 10 20 against a fair die
    // (10 each): statistic (25 + 4 + 1 + 4 + 0 + 100) / 10 = 13.4, df 5, p ≈ 0.020 (SciPy: 0.01990522033477438).
    const r = chiSquareGoodnessOfFit([5, 8, 9, 8, 10, 20], [1, 1, 1, 1, 1, 1]);
    expect(r.df).toBe(5);
    expect(r.statistic).toBeCloseTo(13.4, 12);
    expect(r.p).toBeCloseTo(0.01990522033477438, 9);
  });

  it('matches the example in the @stdlib/stats-chi2gof documentation', () => {
    // Documented: [89, 37, 30, 28, 2] vs [0.40, 0.20, 0.20, 0.15, 0.05] -> statistic ~9.9901, p ~0.0406;
    // SciPy: 9.990143369175627, 0.040594043344781214.
    const r = chiSquareGoodnessOfFit([89, 37, 30, 28, 2], [0.4, 0.2, 0.2, 0.15, 0.05]);
    expect(r.df).toBe(4);
    expect(r.statistic).toBeCloseTo(9.990143369175627, 12);
    expect(r.p).toBeCloseTo(0.040594043344781214, 9);
  });
});

describe('chiSquareGoodnessOfFit behaviour', () => {
  it('treats proportions as weights: scaling them does not change the result', () => {
    const observed = [315, 108, 101, 32];
    const fromWeights = chiSquareGoodnessOfFit(observed, [9, 3, 3, 1]);
    const fromProbabilities = chiSquareGoodnessOfFit(observed, [9 / 16, 3 / 16, 3 / 16, 1 / 16]);
    expect(fromProbabilities.statistic).toBeCloseTo(fromWeights.statistic, 12);
    expect(fromProbabilities.p).toBeCloseTo(fromWeights.p, 12);
  });

  it('gives statistic 0 and p 1 for a perfect fit', () => {
    expect(chiSquareGoodnessOfFit([30, 10], [3, 1])).toEqual({ statistic: 0, df: 1, p: 1 });
  });

  it('keeps p within [0, 1] and reaches 0 for an overwhelming misfit', () => {
    // Statistic 1e6 on 1 df: the true p is far below the smallest double, so 1 - cdf rounds to exactly 0.
    const r = chiSquareGoodnessOfFit([1_000_000, 0], [1, 1]);
    expect(r.statistic).toBe(1_000_000);
    expect(r.p).toBe(0);
  });

  it('returns statistic 0, df k - 1, p 1 when nothing was observed', () => {
    expect(chiSquareGoodnessOfFit([0, 0, 0], [1, 2, 3])).toEqual({ statistic: 0, df: 2, p: 1 });
  });
});

describe('chiSquareGoodnessOfFit agrees with @stdlib/stats-chi2gof', () => {
  it('on random counts and weights', () => {
    const random = rng(7);
    for (let trial = 0; trial < 25; trial++) {
      const k = 2 + Math.floor(random() * 8);
      const weights = Array.from({ length: k }, () => 0.05 + random());
      const observed = Array.from({ length: k }, () => 1 + Math.floor(random() * 200));
      const ours = chiSquareGoodnessOfFit(observed, weights);
      // chi2gof takes expected frequencies (or probabilities summing to 1), so give it the normalised
      // expected counts; its df is k - 1 with the default ddof 0.
      const total = observed.reduce((s, x) => s + x, 0);
      const weightSum = weights.reduce((s, w) => s + w, 0);
      const reference = chi2gof(
        observed,
        weights.map((w) => (total * w) / weightSum),
      );
      expect(ours.df).toBe(reference.df);
      expect(ours.statistic).toBeCloseTo(reference.statistic, 9);
      expect(ours.p).toBeCloseTo(reference.pValue, 9);
    }
  });
});

describe('chiSquareGoodnessOfFit invalid input', () => {
  it('throws RangeError on a length mismatch', () => {
    expect(() => chiSquareGoodnessOfFit([1, 2, 3], [1, 1])).toThrow(RangeError);
  });

  it('throws RangeError with fewer than 2 categories', () => {
    expect(() => chiSquareGoodnessOfFit([5], [1])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([], [])).toThrow(RangeError);
  });

  it('throws RangeError on a negative or non-finite count', () => {
    expect(() => chiSquareGoodnessOfFit([5, -1], [1, 1])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, Number.NaN], [1, 1])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, Number.POSITIVE_INFINITY], [1, 1])).toThrow(RangeError);
  });

  it('throws RangeError on a zero, negative or non-finite weight', () => {
    expect(() => chiSquareGoodnessOfFit([5, 5], [1, 0])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, 5], [1, -1])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, 5], [1, Number.NaN])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, 5], [1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});
