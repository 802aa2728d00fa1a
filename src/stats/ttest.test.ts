import ttest2 from '@stdlib/stats-ttest2';
import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from './random';
import { welchTTest, welchTTestSamples } from './ttest';

// Wikipedia, "Welch's t-test", section Examples (three pairs of samples). The page prints Welch's t, df and
// p rounded (t 2.46 / df 25.0 / p 0.021; 1.57 / 9.9 / 0.149; 2.22 / 24.5 / 0.036), with t the magnitude.
// The full-precision values were computed independently, offline, with SciPy 1.17.1
// `scipy.stats.ttest_ind(b, a, equal_var=False)` (the same b - a direction as ours).
const wikipediaExamples = [
  {
    a: [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4],
    b: [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4],
    published: { t: 2.46, df: 25.0, p: 0.021 },
    scipy: { t: 2.455356398286006, df: 24.988529290231416, p: 0.021378001462866992 },
  },
  {
    a: [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8],
    b: [
      21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5,
      23.5, 21.5, 21.8,
    ],
    published: { t: 1.57, df: 9.9, p: 0.149 },
    scipy: { t: 1.5654335235985037, df: 9.904741248650831, p: 0.14884169660532817 },
  },
  {
    a: [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0],
    b: [
      28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3,
      20.4, 24.0, 13.2,
    ],
    published: { t: 2.22, df: 24.5, p: 0.036 },
    scipy: { t: 2.2192409158236233, df: 24.496223124201244, p: 0.03597227102979692 },
  },
];

describe('welchTTest known answers', () => {
  for (const [i, example] of wikipediaExamples.entries()) {
    it(`matches Wikipedia's Welch example ${i + 1} to its printed precision`, () => {
      const r = welchTTestSamples(example.a, example.b);
      expect(Math.abs(r.t - example.published.t)).toBeLessThan(0.005);
      expect(Math.abs(r.df - example.published.df)).toBeLessThan(0.05);
      expect(Math.abs(r.p - example.published.p)).toBeLessThan(0.0005);
    });

    it(`matches SciPy on Wikipedia's Welch example ${i + 1} to 1e-9`, () => {
      const r = welchTTestSamples(example.a, example.b);
      expect(r.t).toBeCloseTo(example.scipy.t, 9);
      expect(r.df).toBeCloseTo(example.scipy.df, 9);
      expect(r.p).toBeCloseTo(example.scipy.p, 9);
    });
  }

  it("matches R's t.test output with the opposite sign convention", () => {
    // R: ts1 = c(11,9,10,11,10,12,9,11,12,9); ts2 = c(11,13,10,13,12,9,11,12,12,11); t.test(ts1, ts2)
    // prints "Welch Two Sample t-test ... t = -1.8325, df = 17.9, p-value = 0.08356" (quoted in a Cross
    // Validated answer). R reports x - y = ts1 - ts2; ours is b - a, so t flips sign and p is unchanged.
    const ts1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9];
    const ts2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11];
    const r = welchTTestSamples(ts1, ts2);
    expect(r.meanDiff).toBeCloseTo(1, 12); // means 10.4 and 11.4
    expect(Math.abs(r.t - 1.8325)).toBeLessThan(0.00005);
    expect(Math.abs(r.df - 17.9)).toBeLessThan(0.05);
    expect(Math.abs(r.p - 0.08356)).toBeLessThan(0.000005);
  });

  it('matches the NIST handbook example from summary statistics, keeping a tiny p-value accurate', () => {
    // NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.5.3 "Two-Sample t-Test for Equal Means", AUTO83B
    // mpg data: US cars n = 249, mean 20.14458, sd 6.41470; Japanese cars n = 79, mean 30.48101, sd 6.10771.
    // Unequal variances: T = -12.94627 (US - Japan), nu = 136.8750. p = 1.5709046154648375e-25 from
    // SciPy's ttest_ind_from_stats; a 1 - cdf(|t|) formula would round it to 0.
    const us = { n: 249, mean: 20.14458, variance: 6.4147 ** 2 };
    const japan = { n: 79, mean: 30.48101, variance: 6.10771 ** 2 };
    const r = welchTTest(us, japan);
    expect(Math.abs(r.t - 12.94627)).toBeLessThan(0.000005);
    expect(Math.abs(r.df - 136.875)).toBeLessThan(0.00005);
    expect(r.p / 1.5709046154648375e-25).toBeCloseTo(1, 6);
  });
});

describe('welchTTest direction', () => {
  it('gives t > 0 and meanDiff > 0 when b rose above a, and the mirror image when swapped', () => {
    const low = { n: 10, mean: 1, variance: 2 };
    const high = { n: 12, mean: 3, variance: 1 };
    const up = welchTTest(low, high);
    const down = welchTTest(high, low);
    expect(up.t).toBeGreaterThan(0);
    expect(up.meanDiff).toBe(2);
    expect(down.t).toBe(-up.t);
    expect(down.meanDiff).toBe(-2);
    expect(down.df).toBe(up.df);
    expect(down.p).toBe(up.p);
  });
});

describe('welchTTest agrees with @stdlib/stats-ttest2', () => {
  it('on random datasets of different sizes, means and spreads', () => {
    const random = rng(42);
    for (let trial = 0; trial < 25; trial++) {
      const nA = 2 + Math.floor(random() * 40);
      const nB = 2 + Math.floor(random() * 40);
      const shift = (random() - 0.5) * 4;
      const spreadA = 0.1 + random() * 10;
      const spreadB = 0.1 + random() * 10;
      const a = Array.from({ length: nA }, () => spreadA * (random() - 0.5));
      const b = Array.from({ length: nB }, () => shift + spreadB * (random() - 0.5));
      const ours = welchTTestSamples(a, b);
      // variance 'unequal' selects Welch (also stdlib's default). stdlib tests x - y, so pass (b, a) to get b - a.
      const reference = ttest2(b, a, { variance: 'unequal' });
      expect(ours.t).toBeCloseTo(reference.statistic, 9);
      expect(ours.df).toBeCloseTo(reference.df, 9);
      expect(ours.p).toBeCloseTo(reference.pValue, 9);
      expect(ours.meanDiff).toBeCloseTo(reference.xmean - reference.ymean, 9);
    }
  });
});

describe('welchTTest degenerate inputs', () => {
  it('throws RangeError when either sample has fewer than 2 values', () => {
    const ok = { n: 5, mean: 0, variance: 1 };
    expect(() => welchTTest({ n: 1, mean: 0, variance: 0 }, ok)).toThrow(RangeError);
    expect(() => welchTTest(ok, { n: 0, mean: 0, variance: 0 })).toThrow(RangeError);
    expect(() => welchTTestSamples([1], [1, 2, 3])).toThrow(RangeError);
    expect(() => welchTTestSamples([1, 2, 3], [])).toThrow(RangeError);
  });

  it('throws RangeError on a negative or non-finite variance or a non-finite mean', () => {
    const ok = { n: 5, mean: 0, variance: 1 };
    expect(() => welchTTest({ n: 5, mean: 0, variance: -1 }, ok)).toThrow(RangeError);
    expect(() => welchTTest({ n: 5, mean: 0, variance: Number.NaN }, ok)).toThrow(RangeError);
    expect(() => welchTTest(ok, { n: 5, mean: 0, variance: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => welchTTest(ok, { n: 5, mean: Number.NaN, variance: 1 })).toThrow(RangeError);
  });

  it('returns t 0, df NaN, p 1 when both variances are 0 and the means are equal', () => {
    expect(welchTTestSamples([4, 4, 4], [4, 4])).toEqual({ t: 0, df: Number.NaN, p: 1, meanDiff: 0 });
  });

  it('returns t +Infinity, df NaN, p 0 when both variances are 0 and b is higher', () => {
    expect(welchTTestSamples([4, 4, 4], [5, 5])).toEqual({
      t: Number.POSITIVE_INFINITY,
      df: Number.NaN,
      p: 0,
      meanDiff: 1,
    });
  });

  it('returns t -Infinity, df NaN, p 0 when both variances are 0 and b is lower', () => {
    expect(welchTTest({ n: 3, mean: 5, variance: 0 }, { n: 2, mean: 4, variance: 0 })).toEqual({
      t: Number.NEGATIVE_INFINITY,
      df: Number.NaN,
      p: 0,
      meanDiff: -1,
    });
  });

  it('uses the varying sample alone when only one variance is 0', () => {
    // With variance(a) = 0 the Welch–Satterthwaite df reduces exactly to n(b) - 1.
    const r = welchTTest({ n: 4, mean: 0, variance: 0 }, { n: 6, mean: 1, variance: 6 });
    expect(r.df).toBeCloseTo(5, 12);
    expect(r.t).toBeCloseTo(1, 12); // 1 / sqrt(6 / 6)
    expect(r.p).toBeGreaterThan(0);
    expect(r.p).toBeLessThan(1);
  });

  it('keeps df finite for tiny variances whose squares underflow', () => {
    // (1e-200 / 5)^2 underflows to 0; the textbook df formula would give 0 / 0.
    const r = welchTTest({ n: 5, mean: 0, variance: 1e-200 }, { n: 5, mean: 0, variance: 1e-200 });
    expect(r.df).toBeCloseTo(8, 12); // equal variances and sizes: df = 2 (n - 1)
    expect(r.t).toBe(0);
    expect(r.p).toBe(1);
  });
});
