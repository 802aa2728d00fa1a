// The controller's decision rule as a pure function: compare window k with window k-1 by Welch's t-test
// and move the manipulator up or down when the mean changed significantly. No I/O, no clock, never throws,
// so the decision loop can store and explain every outcome, including the degenerate ones.
import { welchTTest } from '../../stats/ttest';
import type { ControlStatus, DecisionReason, WindowStats } from './model';

export interface DecideOptions {
  /** Significance level; a change needs p < alpha. */
  alpha: number;
  /** Hysteresis: decisions the status must be kept after a change before it may change again (0 = off). */
  minDwellDecisions?: number;
  /** Decisions that kept the status since the last change (0 right after a change; omitted = no limit). */
  decisionsSinceChange?: number;
}

export interface Decision {
  status: ControlStatus;
  changed: boolean;
  reason: DecisionReason;
  /** One human-readable sentence for logs and the dashboard. */
  detail: string;
  /** Welch's t (positive when curr.mean > prev.mean); ±Infinity for constant windows; null when not run. */
  t: number | null;
  /** Welch–Satterthwaite degrees of freedom; null when undefined (not run, or both windows constant). */
  df: number | null;
  /** Two-sided p-value; null when not run. */
  p: number | null;
  /** curr.mean - prev.mean; null when either mean is missing. */
  meanDiff: number | null;
}

/** A statistic in a decision's detail: four significant digits. */
export const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x));

// Checked only once both windows have n >= 2: SQL's stddev_samp is NULL for n < 2, which must read as
// 'insufficient_data', not as bad input.
const finiteStats = (s: WindowStats) => Number.isFinite(s.mean) && Number.isFinite(s.std) && s.std >= 0;
const validCount = (n: number) => Number.isInteger(n) && n >= 0;

/** Decides the status after comparing window `curr` (k) with `prev` (k-1). */
export function decide(
  prev: WindowStats,
  curr: WindowStats,
  currentStatus: ControlStatus,
  opts: DecideOptions,
): Decision {
  const keep = (reason: DecisionReason, detail: string, test?: Partial<Decision>): Decision => ({
    status: currentStatus,
    changed: false,
    reason,
    detail,
    t: null,
    df: null,
    p: null,
    meanDiff: null,
    ...test,
  });

  if (!(opts.alpha > 0 && opts.alpha < 1))
    return keep('invalid_input', `alpha must be in (0, 1), got ${opts.alpha}`);
  if (!validCount(prev.n) || !validCount(curr.n)) {
    return keep('invalid_input', `window sizes must be non-negative integers, got ${prev.n} and ${curr.n}`);
  }
  if (prev.n < 2 || curr.n < 2) {
    return keep(
      'insufficient_data',
      `need at least 2 readings per window, got ${prev.n} (previous) and ${curr.n} (current)`,
    );
  }
  if (!finiteStats(prev) || !finiteStats(curr)) {
    return keep('invalid_input', 'window mean and std must be finite and std >= 0');
  }

  let test: ReturnType<typeof welchTTest>;
  try {
    test = welchTTest(
      { n: prev.n, mean: prev.mean, variance: prev.std * prev.std },
      { n: curr.n, mean: curr.mean, variance: curr.std * curr.std },
    );
  } catch (e) {
    return keep('invalid_input', `t-test failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const numbers = {
    t: Number.isNaN(test.t) ? null : test.t,
    df: Number.isNaN(test.df) ? null : test.df,
    p: Number.isNaN(test.p) ? null : test.p,
    meanDiff: test.meanDiff,
  };
  const constant = prev.std === 0 && curr.std === 0;
  const rose = test.meanDiff > 0;

  let reason: DecisionReason;
  let detail: string;
  if (constant) {
    if (test.meanDiff === 0) {
      return keep('zero_variance_equal_means', `both windows constant at ${fmt(curr.mean)}`, numbers);
    }
    reason = rose ? 'zero_variance_increase' : 'zero_variance_decrease';
    detail = `both windows constant, value went from ${fmt(prev.mean)} to ${fmt(curr.mean)}`;
  } else {
    const stat = `t=${fmt(test.t)}, df=${fmt(test.df)}, p=${fmt(test.p)}`;
    if (!(test.p < opts.alpha)) {
      return keep(
        'not_significant',
        `mean ${fmt(prev.mean)} -> ${fmt(curr.mean)} not significant (${stat} >= alpha ${opts.alpha})`,
        numbers,
      );
    }
    reason = rose ? 'significant_increase' : 'significant_decrease';
    detail = `mean ${rose ? 'rose' : 'fell'} ${fmt(prev.mean)} -> ${fmt(curr.mean)} (${stat} < alpha ${opts.alpha})`;
  }

  const target: ControlStatus = rose ? 'up' : 'down';
  if (target === currentStatus) return keep(reason, `${detail}; already ${currentStatus}`, numbers);

  const minDwell = opts.minDwellDecisions ?? 0;
  const held = opts.decisionsSinceChange ?? Number.POSITIVE_INFINITY;
  if (held < minDwell) {
    return keep(
      'min_dwell',
      `${detail}; held ${held} of ${minDwell} decisions, staying ${currentStatus}`,
      numbers,
    );
  }
  return {
    status: target,
    changed: true,
    reason,
    detail: `${detail}; ${currentStatus} -> ${target}`,
    ...numbers,
  };
}
