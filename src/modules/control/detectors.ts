// The controller's change detectors as pure functions. `ttest` is the default rule (Welch's t-test between
// the last two windows, decider.ts); `cusum` is a two-sided CUSUM on the windows' standardised means whose
// threshold comes from a target average run length (src/stats/cusum.ts). Both take the two windows of a
// decision and what the previous decision left behind (`DetectorMemory`), and return the decision with the
// state to leave for the next one, so the live loop and replay run the very same code.
import { addGroup, cusumStep, cusumThreshold, EMPTY_BASELINE, standardisedResidual } from '../../stats/cusum';
import { type Decision, decide, fmt } from './decider';
import type { ControlStatus, CusumRecord, DetectorConfig, DetectorName, WindowStats } from './model';

/** Accepted ranges (config and replay requests are checked against these). */
export const DETECTOR_LIMITS = {
  alpha: { exclusiveMin: 0, exclusiveMax: 1 },
  minDwell: { min: 0, max: 1000 },
  arl: { min: 10, max: 10_000_000 },
  k: { min: 0.05, max: 10 },
} as const;

export interface DetectorMemory {
  status: ControlStatus;
  /** Decisions that kept the status since the last change; undefined = never changed. */
  sinceChange?: number;
  /** The last CUSUM record, if the last decision was made by CUSUM. */
  cusum?: CusumRecord | null;
}

export interface DetectorDecision extends Decision {
  detector: DetectorName;
  cusum: CusumRecord | null;
}

export function describeDetector(c: DetectorConfig): string {
  return c.type === 'ttest'
    ? `ttest (alpha ${c.alpha}, min_dwell ${c.minDwell})`
    : `cusum (ARL ${c.arl} decisions, k ${c.k}, h ${fmt(cusumThreshold(c.arl, c.k))})`;
}

/** Runs the configured detector for the decision comparing `curr` (window k) with `prev` (k-1). */
export function detect(
  config: DetectorConfig,
  prev: WindowStats,
  curr: WindowStats,
  memory: DetectorMemory,
): DetectorDecision {
  if (config.type === 'ttest') {
    const d = decide(prev, curr, memory.status, {
      alpha: config.alpha,
      minDwellDecisions: config.minDwell,
      decisionsSinceChange: memory.sinceChange,
    });
    return { ...d, detector: 'ttest', cusum: null };
  }
  return cusum(config, prev, curr, memory);
}

const usable = (w: WindowStats) =>
  Number.isInteger(w.n) && w.n >= 2 && Number.isFinite(w.mean) && Number.isFinite(w.std) && w.std >= 0;

function cusum(
  config: Extract<DetectorConfig, { type: 'cusum' }>,
  prev: WindowStats,
  curr: WindowStats,
  memory: DetectorMemory,
): DetectorDecision {
  const status = memory.status;
  const last = memory.cusum ?? null;
  const base = {
    status,
    changed: false,
    t: null,
    df: null,
    p: null,
    meanDiff: null,
    detector: 'cusum' as const,
  };
  const { arl, k } = config;
  if (!(arl >= DETECTOR_LIMITS.arl.min && arl <= DETECTOR_LIMITS.arl.max) || !(k > 0 && k <= 10)) {
    return {
      ...base,
      reason: 'invalid_input',
      detail: `invalid CUSUM settings arl=${arl}, k=${k}`,
      cusum: null,
    };
  }
  const h = cusumThreshold(arl, k);
  // After an alarm the sums restart from zero; the record keeps the values that crossed h.
  const sums = last && last.alarm === null ? { up: last.up, down: last.down } : { up: 0, down: 0 };
  const carried = last?.baseline ?? EMPTY_BASELINE;
  const record = (r: Partial<CusumRecord>): CusumRecord => ({
    z: null,
    se: null,
    ...sums,
    threshold: h,
    k,
    arl,
    alarm: null,
    reference: null,
    baseline: carried,
    ...r,
  });

  if (!usable(curr)) {
    return {
      ...base,
      reason: curr.n < 2 ? 'insufficient_data' : 'invalid_input',
      detail: `need at least 2 readings with finite statistics in the current window, got n=${curr.n}; sums unchanged`,
      cusum: record({}),
    };
  }
  // No baseline yet. On a fresh start (first decision, or the detector was just switched on) the previous
  // window is one. After an alarm it is not: the window that crossed the threshold is extreme by
  // selection, and a baseline made of it would make the opposite alarm likelier (measured: +30 % false
  // alarms). Then the window after the alarm starts the baseline, at the cost of one decision.
  let baseline = carried;
  if (baseline.n === 0 && last === null && usable(prev)) baseline = addGroup(EMPTY_BASELINE, prev);
  if (baseline.n === 0) {
    return {
      ...base,
      reason: 'cusum_baseline',
      detail: `no baseline yet: window mean ${fmt(curr.mean)} (n=${curr.n}) starts it`,
      cusum: record({ up: 0, down: 0, baseline: addGroup(EMPTY_BASELINE, curr) }),
    };
  }

  const r = standardisedResidual(baseline, curr);
  const meanDiff = curr.mean - baseline.mean;
  let step: { up: number; down: number; alarm: 'up' | 'down' | null };
  let stat: string;
  if (Number.isFinite(r.z)) {
    step = cusumStep(sums, r.z, k, h);
    stat =
      `z=${fmt(r.z)} (mean ${fmt(curr.mean)} vs baseline ${fmt(baseline.mean)} of ${baseline.groups} ` +
      `window(s), se ${fmt(r.se)}); S+=${fmt(step.up)}, S-=${fmt(step.down)}`;
  } else {
    // Constant readings on both sides and a different value: a certain change.
    step = { up: sums.up, down: sums.down, alarm: r.z > 0 ? 'up' : 'down' };
    stat = `constant readings moved from ${fmt(baseline.mean)} to ${fmt(curr.mean)}`;
  }
  const settings = `h=${fmt(h)} (ARL ${arl}, k ${k})`;
  const computed = {
    z: Number.isFinite(r.z) ? r.z : null,
    se: r.se,
    up: step.up,
    down: step.down,
    reference: baseline.mean,
  };

  if (step.alarm === null) {
    return {
      ...base,
      meanDiff,
      reason: 'cusum_below_threshold',
      detail: `${stat} below ${settings}`,
      cusum: record({ ...computed, baseline: addGroup(baseline, curr) }),
    };
  }
  const target: ControlStatus = step.alarm;
  const reason = target === 'up' ? 'cusum_increase' : 'cusum_decrease';
  const crossed = `${stat}: S${target === 'up' ? '+' : '-'} over ${settings}; the next window starts a new baseline`;
  const cusumRecord = record({ ...computed, alarm: step.alarm, baseline: EMPTY_BASELINE });
  if (target === status) {
    return { ...base, meanDiff, reason, detail: `${crossed}; already ${status}`, cusum: cusumRecord };
  }
  return {
    ...base,
    status: target,
    changed: true,
    meanDiff,
    reason,
    detail: `${crossed}; ${status} -> ${target}`,
    cusum: cusumRecord,
  };
}
