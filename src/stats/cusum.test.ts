import { describe, expect, it } from 'vitest';
import {
  addGroup,
  cusumStep,
  cusumThreshold,
  EMPTY_BASELINE,
  siegmundArl,
  standardisedResidual,
  twoSidedArl,
} from './cusum';

describe('cusumStep', () => {
  it('matches a hand-computed sequence (k = 0.5, h = 2), reset after each alarm', () => {
    // z:      1.0   1.5   -0.3   2.0 | -1.0  -2.5
    // S+:     0.5   1.5    0.7   2.2*|  0     0
    // S-:     0     0      0     0   |  0.5   2.5*
    const zs = [1.0, 1.5, -0.3, 2.0, -1.0, -2.5];
    const expected = [
      { up: 0.5, down: 0, alarm: null },
      { up: 1.5, down: 0, alarm: null },
      { up: 0.7, down: 0, alarm: null },
      { up: 2.2, down: 0, alarm: 'up' },
      { up: 0, down: 0.5, alarm: null },
      { up: 0, down: 2.5, alarm: 'down' },
    ];
    let sums = { up: 0, down: 0 };
    zs.forEach((z, i) => {
      const s = cusumStep(sums, z, 0.5, 2);
      expect(s.up).toBeCloseTo(expected[i]!.up, 12);
      expect(s.down).toBeCloseTo(expected[i]!.down, 12);
      expect(s.alarm).toBe(expected[i]!.alarm);
      sums = s.alarm ? { up: 0, down: 0 } : s;
    });
  });

  it('does not alarm exactly at the threshold', () => {
    expect(cusumStep({ up: 1.5, down: 0 }, 1, 0.5, 2).alarm).toBeNull();
  });
});

describe("Siegmund's ARL approximation and the threshold", () => {
  it('computes the formula by hand: k = 0.5, h = 5 in control', () => {
    // b = 6.166, delta = -0.5: (exp(6.166) - 6.166 - 1) / (2 * 0.25)
    expect(siegmundArl(0.5, 5)).toBeCloseTo((Math.exp(6.166) - 7.166) / 0.5, 9);
    expect(siegmundArl(0.5, 5, 0.5)).toBeCloseTo(6.166 ** 2, 12); // delta = 0
  });

  it("agrees with the Markov-chain values of Montgomery's table (two-sided, k = 0.5) within 2 %", () => {
    // Montgomery, Introduction to Statistical Quality Control, table of two-sided CUSUM ARLs: h=4: 168, h=5: 465.
    expect(twoSidedArl(0.5, 4) / 168).toBeGreaterThan(0.98);
    expect(twoSidedArl(0.5, 4) / 168).toBeLessThan(1.02);
    expect(twoSidedArl(0.5, 5) / 465).toBeGreaterThan(0.98);
    expect(twoSidedArl(0.5, 5) / 465).toBeLessThan(1.02);
  });

  it('inverts the ARL for h', () => {
    for (const [arl, k] of [
      [500, 0.5],
      [100, 1],
      [10_000, 0.25],
      [50, 2],
    ] as const) {
      const h = cusumThreshold(arl, k);
      expect(twoSidedArl(k, h)).toBeCloseTo(arl, 5);
    }
    expect(cusumThreshold(500, 0.5)).toBeCloseTo(5.063, 3);
  });

  it('refuses targets and reference values it cannot serve', () => {
    expect(() => cusumThreshold(1, 0.5)).toThrow(RangeError);
    expect(() => cusumThreshold(Number.POSITIVE_INFINITY, 0.5)).toThrow(RangeError);
    expect(() => cusumThreshold(500, 0)).toThrow(RangeError);
  });
});

describe('pooled baseline and standardised residual', () => {
  it('pools groups and standardises a new group mean by hand', () => {
    // A: n 4, mean 10, sd 2; B: n 6, mean 12, sd 3 -> n 10, mean 11.2, ss 3*4 + 5*9 = 57.
    const b = addGroup(addGroup(EMPTY_BASELINE, { n: 4, mean: 10, std: 2 }), { n: 6, mean: 12, std: 3 });
    expect(b.n).toBe(10);
    expect(b.mean).toBeCloseTo(11.2, 12);
    expect(b.ss).toBeCloseTo(57, 12);
    expect(b.groups).toBe(2);
    // C: n 5, mean 13, sd 1. Pooled variance (57 + 4) / (10 - 2 + 4) = 61/12; se = sp sqrt(1/5 + 1/10).
    const r = standardisedResidual(b, { n: 5, mean: 13, std: 1 });
    expect(r.pooledStd).toBeCloseTo(Math.sqrt(61 / 12), 12);
    expect(r.se).toBeCloseTo(Math.sqrt((61 / 12) * 0.3), 12);
    expect(r.z).toBeCloseTo(1.8 / Math.sqrt((61 / 12) * 0.3), 12);
    expect(r.z).toBeCloseTo(1.4576, 4);
  });

  it('gives an infinite residual for constant groups with different values, and 0 for equal ones', () => {
    const b = addGroup(EMPTY_BASELINE, { n: 3, mean: 5, std: 0 });
    expect(standardisedResidual(b, { n: 3, mean: 6, std: 0 }).z).toBe(Number.POSITIVE_INFINITY);
    expect(standardisedResidual(b, { n: 3, mean: 4, std: 0 }).z).toBe(Number.NEGATIVE_INFINITY);
    expect(standardisedResidual(b, { n: 3, mean: 5, std: 0 }).z).toBe(0);
  });
});
