// Two-sided CUSUM (Page 1954) on standardised observations, with its threshold derived from a target
// in-control average run length (ARL) by Siegmund's approximation, and the running baseline that turns
// group means (e.g. one mean per time window) into standardised recursive residuals.
//
// Upper and lower sums:  S+_k = max(0, S+_{k-1} + z_k - k),  S-_k = max(0, S-_{k-1} - z_k - k);
// an alarm when either exceeds h. With z_k iid N(0, 1) in control, the one-sided ARL is approximately
// (Siegmund 1985, "Sequential Analysis", eq. 2.55; within a few % for h >= 2)
//     ARL(delta) = (exp(-2 delta b) + 2 delta b - 1) / (2 delta^2),  b = h + 1.166,  delta = mu - k,
// (b^2 when delta = 0), and the two-sided scheme's ARL satisfies 1/ARL = 1/ARL+ + 1/ARL-, so in control
// it is half the one-sided one. cusumThreshold() inverts this for h.

/** Siegmund's correction for the overshoot of a normal random walk over the boundary. */
const OVERSHOOT = 1.166;

/** One-sided CUSUM ARL with reference value `k` and threshold `h` for N(mu, 1) observations. */
export function siegmundArl(k: number, h: number, mu = 0): number {
  if (!(k >= 0) || !(h >= 0)) throw new RangeError(`siegmundArl: need k >= 0 and h >= 0, got k=${k}, h=${h}`);
  const delta = mu - k;
  const b = h + OVERSHOOT;
  if (delta === 0) return b * b;
  const x = -2 * delta * b;
  // expm1 keeps the small-|x| case (k near mu) exact where exp(x) - 1 - x would cancel.
  return (Math.expm1(x) - x) / (2 * delta * delta);
}

/** In-control ARL of the two-sided scheme (both sides with the same k and h). */
export function twoSidedArl(k: number, h: number): number {
  return siegmundArl(k, h) / 2;
}

/**
 * The threshold h at which the two-sided CUSUM with reference value k has in-control ARL `targetArl`
 * (Siegmund's approximation; bisection to 1e-9). The ARL grows monotonically with h.
 */
export function cusumThreshold(targetArl: number, k: number): number {
  if (!(targetArl > 1) || !Number.isFinite(targetArl)) {
    throw new RangeError(`cusumThreshold: targetArl must be finite and > 1, got ${targetArl}`);
  }
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`cusumThreshold: k must be > 0, got ${k}`);
  // h = 0 still has ARL >= 1 (b = 1.166): a target below that is met by any h >= 0.
  if (twoSidedArl(k, 0) >= targetArl) return 0;
  let lo = 0;
  let hi = 1;
  while (twoSidedArl(k, hi) < targetArl) hi *= 2;
  while (hi - lo > 1e-9) {
    const mid = (lo + hi) / 2;
    if (twoSidedArl(k, mid) < targetArl) lo = mid;
    else hi = mid;
  }
  return hi;
}

export interface CusumSums {
  /** S+: evidence of an increase. */
  up: number;
  /** S-: evidence of a decrease (kept positive). */
  down: number;
}

export interface CusumStep extends CusumSums {
  /** Which sum crossed h, if any ('up' wins a tie only when it is larger). */
  alarm: 'up' | 'down' | null;
}

/** One CUSUM update with standardised observation `z`. The caller resets the sums after an alarm. */
export function cusumStep(prev: CusumSums, z: number, k: number, h: number): CusumStep {
  const up = Math.max(0, prev.up + z - k);
  const down = Math.max(0, prev.down - z - k);
  const alarm = up > h && up >= down ? 'up' : down > h ? 'down' : null;
  return { up, down, alarm };
}

/**
 * The in-control reference: every group (window) pooled since the last reset. `ss` is the within-group
 * sum of squares, sum (n_i - 1) s_i^2, so the pooled variance ignores differences between group means.
 */
export interface PooledBaseline {
  /** Observations. */
  n: number;
  mean: number;
  ss: number;
  /** Groups pooled. */
  groups: number;
}

export interface GroupSummary {
  n: number;
  mean: number;
  /** Sample standard deviation (divisor n - 1). */
  std: number;
}

export const EMPTY_BASELINE: PooledBaseline = Object.freeze({ n: 0, mean: 0, ss: 0, groups: 0 });

/** The baseline with one more group. */
export function addGroup(b: PooledBaseline, g: GroupSummary): PooledBaseline {
  const n = b.n + g.n;
  return {
    n,
    mean: b.n === 0 ? g.mean : b.mean + ((g.mean - b.mean) * g.n) / n,
    ss: b.ss + (g.n - 1) * g.std * g.std,
    groups: b.groups + 1,
  };
}

export interface Residual {
  /** (mean - baseline mean) / se; ±Infinity when se = 0 and the means differ, 0 when they are equal. */
  z: number;
  /** Standard error of the difference: s_p * sqrt(1/n + 1/N_B). */
  se: number;
  /** Pooled within-group standard deviation of the baseline and the new group. */
  pooledStd: number;
}

/**
 * The standardised recursive residual of a new group against the baseline (both need n >= 2 in total
 * degrees of freedom). The group's mean has standard error s/sqrt(n) and the baseline mean s/sqrt(N_B);
 * their difference is divided by the standard error of the difference, with s pooled from the
 * within-group variances of the baseline and the group. With a known s these residuals are iid N(0, 1)
 * in control (each is independent of the baseline mean it is compared with), which is what the CUSUM's
 * ARL assumes; with s estimated on many degrees of freedom they are close to it.
 */
export function standardisedResidual(b: PooledBaseline, g: GroupSummary): Residual {
  if (b.n < 1 || g.n < 1) throw new RangeError('standardisedResidual: baseline and group need observations');
  const df = b.n - b.groups + (g.n - 1);
  if (!(df >= 1)) throw new RangeError('standardisedResidual: no degrees of freedom for the variance');
  const pooledStd = Math.sqrt((b.ss + (g.n - 1) * g.std * g.std) / df);
  const se = pooledStd * Math.sqrt(1 / g.n + 1 / b.n);
  const diff = g.mean - b.mean;
  const z =
    se > 0 ? diff / se : diff === 0 ? 0 : diff > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return { z, se, pooledStd };
}
