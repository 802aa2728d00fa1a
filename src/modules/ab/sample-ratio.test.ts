import { describe, expect, it } from 'vitest';
import type { Experiment } from './model';
import { experimentStats, formatShare } from './sample-ratio';
import { colours } from './test-support';

const counts = (experimentId: number, version: number, perOption: number[]) =>
  perOption.map((devices, option) => ({ experimentId, version, option, devices }));

describe('experimentStats', () => {
  it('flags a sample ratio mismatch with the known chi-square answer', () => {
    // 50/30/20 against 1:1:1: expected 100/3 each, X² = (16.67² + 3.33² + 13.33²) / 33.33 = 14 exactly;
    // with 2 degrees of freedom the upper tail is e^(-X²/2) = e^-7 = 0.000911882 < 0.001.
    const s = experimentStats(
      colours,
      [{ experimentId: 1, version: 1, weights: [1, 1, 1] }],
      counts(1, 1, [50, 30, 20]),
    );
    expect(s.devices).toBe(100);
    expect(s.srm.chiSquare).toBeCloseTo(14, 10);
    expect(s.srm.df).toBe(2);
    expect(s.srm.pValue).toBeCloseTo(Math.exp(-7), 12);
    expect(s.srm.testable).toBe(true);
    expect(s.srm.mismatch).toBe(true);
    expect(s.options.map((o) => o.share)).toEqual([0.5, 0.3, 0.2]);
  });

  it('does not flag a rare option drawn first, before the test is valid', () => {
    // One device with the 1-in-20 option: X² = 19, p = 0.00027, but the expected counts are below 5.
    const price: Experiment = { ...colours, values: [10, 20, 50, 5], weights: [75, 10, 5, 10], deckSize: 20 };
    const s = experimentStats(
      price,
      [{ experimentId: 1, version: 1, weights: [75, 10, 5, 10] }],
      counts(1, 1, [0, 0, 1, 0]),
    );
    expect(s.srm.pValue).toBeLessThan(0.001);
    expect(s.srm.testable).toBe(false);
    expect(s.srm.mismatch).toBe(false);
  });

  it('does not flag counts that follow the deck', () => {
    const s = experimentStats(
      colours,
      [{ experimentId: 1, version: 1, weights: [1, 1, 1] }],
      counts(1, 1, [200, 200, 200]),
    );
    expect(s.srm).toEqual({ chiSquare: 0, df: 2, pValue: 1, testable: true, mismatch: false });
  });

  it('expects each version its own weights', () => {
    // 30 devices under 1:1:1, then 40 under 2:1:1: expected 10 + 20, 10 + 10, 10 + 10.
    const versions = [
      { experimentId: 1, version: 1, weights: [1, 1, 1] },
      { experimentId: 1, version: 2, weights: [2, 1, 1] },
    ];
    const s = experimentStats({ ...colours, version: 2, weights: [2, 1, 1] }, versions, [
      ...counts(1, 1, [10, 10, 10]),
      ...counts(1, 2, [20, 10, 10]),
    ]);
    expect(s.options.map((o) => o.expected)).toEqual([30, 20, 20]);
    expect(s.options.map((o) => o.devices)).toEqual([30, 20, 20]);
    expect(s.srm.pValue).toBe(1);
  });

  it('reports no shares and p = 1 without devices', () => {
    const s = experimentStats(colours, [{ experimentId: 1, version: 1, weights: [1, 1, 1] }], []);
    expect(s.devices).toBe(0);
    expect(s.options.every((o) => o.share === null)).toBe(true);
    expect(s.srm.pValue).toBe(1);
  });

  it('formats shares as percentages with one decimal', () => {
    expect(formatShare(1 / 3)).toBe('33.3%');
    expect(formatShare(2 / 3)).toBe('66.7%');
    expect(formatShare(0.75)).toBe('75.0%');
    expect(formatShare(0)).toBe('0.0%');
    expect(formatShare(null)).toBe('—');
  });
});
