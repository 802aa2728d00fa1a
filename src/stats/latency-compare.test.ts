import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, recordMs } from './histogram';
import {
  histogramCounts,
  mannWhitneyU,
  normalUpperTail,
  quantileInterval,
  twoProportionZ,
  type WeightedValue,
} from './latency-compare';

const weighted = (values: number[]): WeightedValue[] => {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].sort((a, b) => a[0] - b[0]).map(([value, count]) => ({ value, count }));
};

// Hand-computed: X = 1 2 2 3, Y = 2 3 3 4 5. Ranks of the 9 values: 1→1; the three 2s share 2,3,4 → 3;
// the three 3s share 5,6,7 → 6; 4→8; 5→9. R_Y = 3 + 6 + 6 + 8 + 9 = 32, U_Y = 32 − 5·6/2 = 17 (of 20
// pairs). Mean 10; ties: two groups of 3 → Σ(t³−t) = 48; σ² = 20/12 · (10 − 48/72) = 15.5556, σ = 3.9441.
// z = 7 / 3.9441 = 1.77482; continuity-corrected: 6.5 / 3.9441 = 1.64803 → two-sided p = 0.09934,
// one-sided 0.04967 (SciPy 1.17 mannwhitneyu(Y, X, method='asymptotic') gives the same three p-values).
const X = [1, 2, 2, 3];
const Y = [2, 3, 3, 4, 5];

describe('Mann–Whitney U from weighted values', () => {
  it('matches the hand-computed answer with ties', () => {
    const r = mannWhitneyU(weighted(X), weighted(Y));
    expect(r.n1).toBe(4);
    expect(r.n2).toBe(5);
    expect(r.u).toBe(17);
    expect(r.auc).toBeCloseTo(0.85, 12);
    expect(r.z).toBeCloseTo(1.774824, 5);
    expect(r.p).toBeCloseTo(0.0993422, 6);
    expect(r.pGreater).toBeCloseTo(0.0496711, 6);
    expect(r.pLess).toBeCloseTo(0.9713881, 6);
  });

  it('swapping the samples mirrors U and the one-sided p-values', () => {
    const r = mannWhitneyU(weighted(Y), weighted(X));
    expect(r.u).toBe(3);
    expect(r.z).toBeCloseTo(-1.774824, 5);
    expect(r.p).toBeCloseTo(0.0993422, 6);
    expect(r.pLess).toBeCloseTo(0.0496711, 6);
  });

  it('without ties: X = 1 2 3, Y = 4 5 6 → U = 9, σ² = 5.25', () => {
    const r = mannWhitneyU(weighted([1, 2, 3]), weighted([4, 5, 6]));
    expect(r.u).toBe(9);
    expect(r.z).toBeCloseTo(4.5 / Math.sqrt(5.25), 12);
    expect(r.p).toBeCloseTo(2 * normalUpperTail(4 / Math.sqrt(5.25)), 12);
  });

  it('equal samples: no difference; all values tied: σ = 0 and p = 1', () => {
    const same = mannWhitneyU(weighted(X), weighted(X));
    expect(same.auc).toBe(0.5);
    expect(same.z).toBe(0);
    expect(same.p).toBe(1);
    expect(mannWhitneyU([{ value: 7, count: 3 }], [{ value: 7, count: 5 }])).toMatchObject({ z: 0, p: 1 });
  });

  it('refuses an empty sample', () => {
    expect(() => mannWhitneyU([], weighted(Y))).toThrow(RangeError);
  });
});

describe('from HDR histograms', () => {
  it('the buckets of two histograms give the same U as the raw samples', () => {
    const hx = createLatencyHistogram();
    const hy = createLatencyHistogram();
    for (const v of X) recordMs(hx, v);
    for (const v of Y) recordMs(hy, v);
    const cx = histogramCounts(hx);
    expect(cx.map((w) => w.count)).toEqual([1, 2, 1]);
    const r = mannWhitneyU(cx, histogramCounts(hy));
    expect(r.u).toBe(17);
    expect(r.p).toBeCloseTo(0.0993422, 6);
  });
});

describe('quantile confidence interval', () => {
  it('n = 100: the 95 % interval of the median is the 40th to the 61st value (textbook)', () => {
    const values = weighted(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(quantileInterval(values, 0.5)).toEqual({ low: 40, high: 61 });
  });
});

describe('normal tail and two proportions', () => {
  it('P(Z ≥ 1.96) = 0.0249979; P(Z ≥ −1.96) = 0.9750021', () => {
    expect(normalUpperTail(1.96)).toBeCloseTo(0.0249979, 7);
    expect(normalUpperTail(-1.96)).toBeCloseTo(0.9750021, 7);
  });

  it('10/100 vs 20/100: pooled 0.15, se 0.050498, z = 1.98030, one-sided p = 0.023835', () => {
    const r = twoProportionZ(10, 100, 20, 100);
    expect(r.diff).toBeCloseTo(0.1, 12);
    expect(r.z).toBeCloseTo(1.980295, 5);
    expect(r.pGreater).toBeCloseTo(0.023835, 5);
    expect(r.pLess).toBeCloseTo(1 - 0.023835, 5);
    expect(twoProportionZ(0, 10, 0, 10)).toMatchObject({ z: 0, pGreater: 1 });
  });
});
