import { describe, expect, it } from 'vitest';
import { decide } from './decider';
import type { WindowStats } from './model';

const T0 = new Date('2024-05-01T12:00:00Z');
const T1 = new Date('2024-05-01T12:00:05Z');
const T2 = new Date('2024-05-01T12:00:10Z');

function statsOf(values: number[], start = T0, end = T1): WindowStats {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { n, mean, std: Math.sqrt(ss / (n - 1)), start, end };
}

const win = (n: number, mean: number, std: number): WindowStats => ({ n, mean, std, start: T1, end: T2 });

// R's t.test(ts1, ts2) (Welch by default) prints t = -1.8325, df = 17.9, p-value = 0.08356 (an R session
// quoted in a Q&A on Welch confidence intervals; @stdlib/stats-ttest2 gives the same numbers).
// Our t has the sign of curr - prev, so with prev = ts1 and curr = ts2 it is +1.8325.
const ts1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9];
const ts2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11];

// Rosetta Code's "Welch's t-test" task data (rosettacode.org/wiki/Welch's_t-test), whose reference is R's
// t.test: t = -9.5595, df = 2.0009, p-value = 0.01075 (also reproduced with @stdlib/stats-ttest2).
const rosettaX = [3.0, 4.0, 1.0, 2.1];
const rosettaY = [490.2, 340.0, 433.9];

describe('decide: known answers', () => {
  it('reproduces R for the ts1/ts2 example and keeps the status at alpha 0.05 (p = 0.0836)', () => {
    const d = decide(statsOf(ts1), statsOf(ts2, T1, T2), 'down', { alpha: 0.05 });
    expect(d.t).toBeCloseTo(1.8325, 4);
    expect(d.df).toBeCloseTo(17.9, 1);
    expect(d.p).toBeCloseTo(0.08356, 5);
    expect(d.meanDiff).toBeCloseTo(1, 12);
    expect(d).toMatchObject({ status: 'down', changed: false, reason: 'not_significant' });
  });

  it('switches up on the same data at alpha 0.1', () => {
    const d = decide(statsOf(ts1), statsOf(ts2, T1, T2), 'down', { alpha: 0.1 });
    expect(d).toMatchObject({ status: 'up', changed: true, reason: 'significant_increase' });
    expect(d.detail).toContain('down -> up');
  });

  it('reproduces R for the Rosetta Code data and switches down when the mean falls', () => {
    const d = decide(statsOf(rosettaY), statsOf(rosettaX, T1, T2), 'up', { alpha: 0.05 });
    expect(d.t).toBeCloseTo(-9.5595, 4);
    expect(d.df).toBeCloseTo(2.0009, 4);
    expect(d.p).toBeCloseTo(0.01075, 5);
    expect(d).toMatchObject({ status: 'down', changed: true, reason: 'significant_decrease' });
  });

  it('reports a significant rise but no change when already up', () => {
    const d = decide(statsOf(rosettaX), statsOf(rosettaY, T1, T2), 'up', { alpha: 0.05 });
    expect(d).toMatchObject({ status: 'up', changed: false, reason: 'significant_increase' });
  });
});

describe('decide: alpha boundary', () => {
  const prev = statsOf(ts1);
  const curr = statsOf(ts2, T1, T2);
  const p = decide(prev, curr, 'down', { alpha: 0.5 }).p!;

  it('p equal to alpha is not significant (the rule is p < alpha)', () => {
    expect(decide(prev, curr, 'down', { alpha: p })).toMatchObject({
      changed: false,
      reason: 'not_significant',
    });
  });

  it('alpha just above p changes the status', () => {
    const d = decide(prev, curr, 'down', { alpha: p + 1e-12 });
    expect(d).toMatchObject({ status: 'up', changed: true });
  });
});

describe('decide: degenerate windows never throw', () => {
  it.each([
    [0, 10],
    [1, 10],
    [10, 1],
    [10, 0],
  ])('n = %i vs %i -> insufficient_data, status kept', (nPrev, nCurr) => {
    const d = decide(win(nPrev, 100, 5), win(nCurr, 200, 5), 'down', { alpha: 0.05 });
    expect(d).toMatchObject({
      status: 'down',
      changed: false,
      reason: 'insufficient_data',
      t: null,
      p: null,
    });
  });

  it('treats a NULL std from SQL (n = 1) as insufficient data, not bad input', () => {
    const d = decide(win(1, 100, Number.NaN), win(5, 100, 1), 'up', { alpha: 0.05 });
    expect(d.reason).toBe('insufficient_data');
  });

  it('both variances zero, equal means -> no change', () => {
    const d = decide(win(5, 100, 0), win(7, 100, 0), 'up', { alpha: 0.05 });
    expect(d).toMatchObject({
      status: 'up',
      changed: false,
      reason: 'zero_variance_equal_means',
      t: 0,
      p: 1,
      df: null,
    });
  });

  it('both variances zero, mean rose -> change up', () => {
    const d = decide(win(5, 100, 0), win(7, 101, 0), 'down', { alpha: 0.05 });
    expect(d).toMatchObject({
      status: 'up',
      changed: true,
      reason: 'zero_variance_increase',
      p: 0,
      df: null,
    });
    expect(d.t).toBe(Number.POSITIVE_INFINITY);
  });

  it('both variances zero, mean fell -> change down', () => {
    const d = decide(win(5, 100, 0), win(7, 99, 0), 'up', { alpha: 0.05 });
    expect(d).toMatchObject({ status: 'down', changed: true, reason: 'zero_variance_decrease' });
  });

  it('one variance zero is an ordinary Welch test', () => {
    const d = decide(win(10, 100, 0), win(10, 110, 5), 'down', { alpha: 0.05 });
    expect(d.reason).toBe('significant_increase');
    expect(d.df).toBeCloseTo(9, 10); // all the variance is in the second window: df = n - 1
  });

  it.each([
    ['NaN mean', win(10, Number.NaN, 1)],
    ['infinite std', win(10, 100, Number.POSITIVE_INFINITY)],
    ['negative std', win(10, 100, -1)],
    ['fractional n', win(2.5, 100, 1)],
  ])('%s -> invalid_input, status kept', (_name, bad) => {
    const d = decide(win(10, 100, 1), bad, 'down', { alpha: 0.05 });
    expect(d).toMatchObject({ status: 'down', changed: false, reason: 'invalid_input' });
  });

  it.each([0, 1, Number.NaN, -0.1])('alpha %s -> invalid_input', (alpha) => {
    expect(decide(win(10, 100, 1), win(10, 200, 1), 'down', { alpha }).reason).toBe('invalid_input');
  });
});

describe('decide: minimum dwell (hysteresis)', () => {
  const prev = win(100, 100, 10);
  const curr = win(100, 120, 10);

  it('blocks a change until the status was held for minDwellDecisions', () => {
    const d = decide(prev, curr, 'down', { alpha: 0.05, minDwellDecisions: 2, decisionsSinceChange: 1 });
    expect(d).toMatchObject({ status: 'down', changed: false, reason: 'min_dwell' });
    expect(d.p).toBeLessThan(0.05);
  });

  it('allows the change once held long enough', () => {
    const d = decide(prev, curr, 'down', { alpha: 0.05, minDwellDecisions: 2, decisionsSinceChange: 2 });
    expect(d).toMatchObject({ status: 'up', changed: true, reason: 'significant_increase' });
  });

  it('is off by default: a change right after a change is allowed', () => {
    const d = decide(prev, curr, 'down', { alpha: 0.05, decisionsSinceChange: 0 });
    expect(d.changed).toBe(true);
  });
});
