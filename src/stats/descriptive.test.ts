import { describe, expect, it } from 'vitest';
import {
  addValue,
  emptyMoments,
  median,
  mergeMoments,
  momentsOf,
  quantile,
  sampleVariance,
  summarize,
} from './descriptive';
import { mulberry32 as rng } from './random';

describe('median', () => {
  it('returns the middle value of an odd count', () => {
    expect(median([3, 1, 2])).toBe(2);
  });

  it('returns the mean of the two middle values of an even count', () => {
    // sorted 1 2 | 3 4 -> (2 + 3) / 2
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('returns the only value of a single-element input', () => {
    expect(median([7])).toBe(7);
  });

  it('handles negative values', () => {
    // sorted -5 -3 | -2 -1 -> (-3 + -2) / 2
    expect(median([-1, -5, -2, -3])).toBe(-2.5);
  });

  it('sorts numerically, not as strings', () => {
    // A string sort would order 10, 100, 9 and pick 100.
    expect(median([10, 9, 100])).toBe(10);
  });

  it('does not mutate an unsorted array or typed array', () => {
    const values = [9, 1, 5, 3];
    const typed = Float64Array.from(values);
    // sorted 1 3 | 5 9 -> 4
    expect(median(values)).toBe(4);
    expect(median(typed)).toBe(4);
    expect(values).toEqual([9, 1, 5, 3]);
    expect(Array.from(typed)).toEqual([9, 1, 5, 3]);
  });

  it('does not overflow when averaging two huge middle values', () => {
    expect(median([Number.MAX_VALUE, Number.MAX_VALUE])).toBe(Number.MAX_VALUE);
  });

  it('throws RangeError on empty input', () => {
    expect(() => median([])).toThrow(RangeError);
  });

  it('throws RangeError on NaN, which has no rank', () => {
    expect(() => median([1, Number.NaN, 2])).toThrow(RangeError);
  });
});

describe('quantile (numpy default / R type 7)', () => {
  // h = (n - 1) q; result = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
  it('interpolates on [1, 2, 3, 4]', () => {
    const sorted = [1, 2, 3, 4];
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile(sorted, 0.1)).toBeCloseTo(1.3, 12); // h = 0.3
    expect(quantile(sorted, 0.25)).toBe(1.75); // h = 0.75
    expect(quantile(sorted, 0.5)).toBe(2.5); // h = 1.5
    expect(quantile(sorted, 0.75)).toBe(3.25); // h = 2.25
    expect(quantile(sorted, 0.9)).toBeCloseTo(3.7, 12); // h = 2.7
    expect(quantile(sorted, 1)).toBe(4);
  });

  it('interpolates on [1, 1, 2, 3, 4, 5, 6, 9]', () => {
    const sorted = [1, 1, 2, 3, 4, 5, 6, 9];
    expect(quantile(sorted, 0.25)).toBeCloseTo(1.75, 12); // h = 1.75: 1 + 0.75 (2 - 1)
    expect(quantile(sorted, 0.5)).toBeCloseTo(3.5, 12); // h = 3.5: 3 + 0.5 (4 - 3)
    expect(quantile(sorted, 0.9)).toBeCloseTo(6.9, 12); // h = 6.3: 6 + 0.3 (9 - 6)
    expect(quantile(sorted, 0.99)).toBeCloseTo(8.79, 12); // h = 6.93: 6 + 0.93 (9 - 6)
  });

  it('returns the single value for every q', () => {
    expect(quantile([5], 0)).toBe(5);
    expect(quantile([5], 0.37)).toBe(5);
    expect(quantile([5], 1)).toBe(5);
  });

  it('returns infinite order statistics without producing NaN', () => {
    const sorted = [1, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    expect(quantile(sorted, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(quantile(sorted, 0.75)).toBe(Number.POSITIVE_INFINITY);
  });

  it('throws RangeError on empty input or q outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1, 2], -0.1)).toThrow(RangeError);
    expect(() => quantile([1, 2], 1.1)).toThrow(RangeError);
    expect(() => quantile([1, 2], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('computes count, min, max, sum, median and mean', () => {
    // sorted -1 2.5 | 4 10: sum 15.5, median (2.5 + 4) / 2 = 3.25, mean 15.5 / 4 = 3.875
    expect(summarize([4, -1, 2.5, 10])).toEqual({
      count: 4,
      min: -1,
      max: 10,
      sum: 15.5,
      median: 3.25,
      mean: 3.875,
    });
  });

  it('summarizes a single value', () => {
    expect(summarize([-3])).toEqual({ count: 1, min: -3, max: -3, sum: -3, median: -3, mean: -3 });
  });

  it('keeps small addends that naive summation loses', () => {
    // Naively -1e16 + 1 rounds back to -1e16 (the spacing there is 2), so the sum would be 0; exact is 1.
    expect(summarize([1e16, 1, -1e16]).sum).toBe(1);
  });

  it('does not mutate its input', () => {
    const values = [3, 1, 2];
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('throws RangeError on empty input', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('moments', () => {
  it('matches the textbook example 2 4 4 4 5 5 7 9', () => {
    // Mean 5; squared deviations 9 1 1 1 0 0 4 16 sum to 32; sample variance 32 / 7.
    const m = momentsOf([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(m.n).toBe(8);
    expect(m.mean).toBeCloseTo(5, 12);
    expect(m.m2).toBeCloseTo(32, 12);
    expect(sampleVariance(m)).toBeCloseTo(32 / 7, 12);
  });

  it('gives NaN sample variance below two values', () => {
    expect(sampleVariance(emptyMoments())).toBeNaN();
    expect(sampleVariance(momentsOf([42]))).toBeNaN();
  });

  it('addValue returns a new object and leaves its argument unchanged', () => {
    const start = emptyMoments();
    const next = addValue(start, 3);
    expect(start).toEqual({ n: 0, mean: 0, m2: 0 });
    expect(next).toEqual({ n: 1, mean: 3, m2: 0 });
  });

  it('folding addValue equals momentsOf', () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    const folded = values.reduce(addValue, emptyMoments());
    expect(folded).toEqual(momentsOf(values));
  });

  it('mergeMoments with an empty side returns the other side', () => {
    const m = momentsOf([1, 2, 3]);
    expect(mergeMoments(emptyMoments(), m)).toEqual(m);
    expect(mergeMoments(m, emptyMoments())).toEqual(m);
    expect(mergeMoments(emptyMoments(), emptyMoments())).toEqual(emptyMoments());
  });

  it('mergeMoments equals momentsOf of the concatenation', () => {
    const random = rng(1234);
    // [offset of a, offset of b, spread]: similar samples, samples far apart (exercises Chan's delta term),
    // and a large offset with a tiny spread, where a naive sum-of-squares formula loses every digit.
    for (const [offsetA, offsetB, spread] of [
      [0, 0, 1],
      [-50, 1000, 100],
      [1e6, 1e6, 0.01],
    ] as const) {
      for (let trial = 0; trial < 20; trial++) {
        const a = Array.from({ length: 1 + Math.floor(random() * 50) }, () => offsetA + spread * random());
        const b = Array.from({ length: 1 + Math.floor(random() * 50) }, () => offsetB + spread * random());
        const merged = mergeMoments(momentsOf(a), momentsOf(b));
        const whole = momentsOf([...a, ...b]);
        expect(merged.n).toBe(whole.n);
        // Relative 1e-9 for large values, absolute 1e-9 for small ones: at offset 1e6 both sides carry
        // rounding of ~1e-10 per value (the spacing of doubles there), so closer agreement is not defined.
        expect(Math.abs(merged.mean - whole.mean)).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(whole.mean)),
        );
        expect(Math.abs(merged.m2 - whole.m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, whole.m2));
      }
    }
  });
});
