/**
 * Capacity search: the highest arrival rate at which a target keeps its SLO for a sustained window.
 * It drives the load engine (engine/load-run.ts, arrival-rate model) one step at a time; latency is
 * counted from each request's scheduled send time, so it is corrected for coordinated omission.
 *
 * Step rule: every step is one engine run at one fixed rate (integer req/s): `warmupSeconds` (default 2)
 * that are not judged — connections open, code warms up, and a target past its capacity builds a queue —
 * then `windowSeconds` (default 10) at the same rate, the window. The SLO is judged on every request
 * scheduled in the window, including the ones answered after it ends (the step waits for them), with
 * the thresholds' evaluator (engine/thresholds.ts). A step holds when every SLO check passes and no
 * request was dropped (a request the engine could not send within its timeout was never measured).
 *
 * A rate fails only when `attempts` (default 2) steps in a row at it fail: a stall of the machine that
 * sends the load (or of the target) must not lower the answer, while a rate past capacity fails every
 * time. One window that held is a sustained window in which the SLO held.
 *
 * Search rule: a ramp from `startRps`, multiplying by `growth` while steps hold (capped at `maxRps`),
 * then a bisection between the highest rate that held and the lowest that failed, until they are within
 * `precision` (relative to the one that held) or 1 req/s. The answer is the highest rate that held.
 *
 * What the window means: above capacity C the queue grows by (r − C)·t, so at r = C·(1 + ε) a request
 * scheduled t seconds into the step waits ε·t. A p-quantile latency SLO of L seconds then fails once
 * ε·(warm-up + p·window) > L: the search over-reports by at most ε = L / (warm-up + p·window) (p99 ≤
 * 100 ms with the defaults: 0.8 %). Longer windows are stricter. A busy machine's stalls show in a
 * p99 SLO first and in a p50 one last (hence the attempts).
 *
 * A step stops early once its SLO cannot hold whatever the rest of its window brings (capacity-step.ts),
 * so a rate far past capacity costs little.
 */
import { invalidInput } from '../../platform/errors';
import { createLatencyHistogram, type LatencySummary, summarizeHistogram } from '../../stats/histogram';
import { runStep } from './capacity-step';
import {
  evaluateThresholds,
  type LoadOptions,
  type LoadTarget,
  type ThresholdCheck,
  type Thresholds,
} from './engine';
import { ThresholdsIn } from './http/schemas';

/**
 * The SLO metrics: exactly the thresholds' metrics — the fields of the thresholds schema that the
 * evaluator (engine/thresholds.ts) checks (so options such as an abort flag are not metrics).
 */
export const SLO_METRICS: (keyof Thresholds)[] = evaluateThresholds(
  Object.fromEntries(Object.keys(ThresholdsIn.properties).map((k) => [k, 0])) as Thresholds,
  { requests: 0, latency: summarizeHistogram(createLatencyHistogram()), successRate: 0, errorRate: 0 },
).checks.map((c) => c.name);
const PERCENT_METRICS = new Set<string>(['success_rate', 'error_rate']);

export interface CapacityOptions {
  target: LoadTarget;
  slo: Thresholds;
  /** First rate of the ramp, req/s (default 10). */
  startRps?: number;
  /** Highest rate tried, req/s (default 50 000, LATENCY_MAX_RATE's default). */
  maxRps?: number;
  /** Ramp factor between held steps (default 2). */
  growth?: number;
  /** Judged part of every step, s (default 10). */
  windowSeconds?: number;
  /** Unjudged start of every step at the same rate, s (default 2; 0: none). */
  warmupSeconds?: number;
  /** Bisection stops when (failed − held) ≤ precision × held (default 0.05). */
  precision?: number;
  /** Most steps in all, retries included (default 40); the search reports what it has when it reaches it. */
  maxSteps?: number;
  /** A rate fails only after this many failed steps in a row (default 2). */
  attempts?: number;
  timeoutMs?: number;
  successStatuses?: Iterable<number>;
  connections?: number;
  maxInFlight?: number;
  lookup?: LoadOptions['lookup'];
  /**
   * Steps already judged (a search resumed after a pause or in another process): their verdicts are
   * replayed through the same rules before any new step runs, so the search continues where it was.
   */
  resume?: readonly CapacityStep[];
  /** Before a step starts and after it is judged. */
  onStepStart?: (index: number, phase: CapacityPhase, rateRps: number) => void;
  onStep?: (step: CapacityStep) => void;
  /** Aborting stops the running step (it is not judged) and ends the search with what it found. */
  signal?: AbortSignal;
}

export type CapacityPhase = 'ramp' | 'bisect';

export interface CapacityStep {
  index: number;
  phase: CapacityPhase;
  rateRps: number;
  /** 1, or 2.. when the same rate is tried again after a failure. */
  attempt: number;
  held: boolean;
  /** The SLO was broken before the window ended, so the step stopped there (see Window). */
  stoppedEarly: boolean;
  /** Requests scheduled in the window (answered or not). */
  requests: number;
  /** Of the whole step (warm-up and window): never sent / sent late (see the engine). */
  dropped: number;
  late: number;
  successRate: number;
  errorRate: number;
  /** Coordinated-omission corrected (from the scheduled send time). */
  latency: LatencySummary;
  checks: ThresholdCheck[];
}

export interface CapacityResult {
  /** The highest rate that held; null when not even the lowest rate tried held. */
  capacityRps: number | null;
  /** The lowest rate that failed; null when every rate up to `maxRps` held. */
  failedRps: number | null;
  /** `slo`: bounded by a failing step; `max_rps`: every rate up to maxRps held; `max_steps`/`interrupted`. */
  limitedBy: 'slo' | 'max_rps' | 'max_steps' | 'interrupted';
  slo: Thresholds;
  windowSeconds: number;
  warmupSeconds: number;
  precision: number;
  steps: CapacityStep[];
}

/** Checks an SLO given as an object (API body, library call): known metrics, sane limits, not empty. */
export function validateSlo(slo: unknown, field = 'slo'): Thresholds {
  if (slo === null || typeof slo !== 'object' || Array.isArray(slo))
    throw invalidInput(field, 'expected an object such as {"p99_ms": 100}', 'LATENCY_SLO_INVALID');
  const entries = Object.entries(slo);
  if (entries.length === 0)
    throw invalidInput(field, 'give at least one metric, e.g. p99_ms=100', 'LATENCY_SLO_INVALID');
  const out: Record<string, number> = {};
  for (const [name, limit] of entries) {
    if (!(SLO_METRICS as string[]).includes(name))
      throw invalidInput(
        `${field}.${name}`,
        `unknown SLO metric; use one of ${SLO_METRICS.join(', ')}`,
        'LATENCY_SLO_INVALID',
      );
    const max = PERCENT_METRICS.has(name) ? 100 : Number.POSITIVE_INFINITY;
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0 || limit > max)
      throw invalidInput(
        `${field}.${name}`,
        `must be a number >= 0${max === 100 ? ' and <= 100 (percent)' : ' (ms)'}`,
        'LATENCY_SLO_INVALID',
      );
    out[name] = limit;
  }
  return out as Thresholds;
}

/** Parses `NAME=VALUE` texts (the CLI's repeated --slo) into a checked SLO. */
export function parseSlo(texts: readonly string[]): Thresholds {
  const slo: Record<string, number> = {};
  for (const text of texts) {
    const i = text.indexOf('=');
    if (i <= 0)
      throw invalidInput(
        'slo',
        `expected NAME=VALUE (e.g. p99_ms=100), got '${text}'`,
        'LATENCY_SLO_INVALID',
      );
    const raw = text.slice(i + 1).trim();
    slo[text.slice(0, i).trim()] = raw === '' ? Number.NaN : Number(raw);
  }
  return validateSlo(slo);
}

function checkOptions(o: CapacityOptions) {
  const startRps = o.startRps ?? 10;
  const maxRps = o.maxRps ?? 50_000;
  const growth = o.growth ?? 2;
  const windowSeconds = o.windowSeconds ?? 10;
  const warmupSeconds = o.warmupSeconds ?? 2;
  const precision = o.precision ?? 0.05;
  const maxSteps = o.maxSteps ?? 40;
  const attempts = o.attempts ?? 2;
  const bad = (field: string, what: string) => invalidInput(field, what, 'LATENCY_CAPACITY_INVALID');
  if (!Number.isInteger(startRps) || startRps < 1) throw bad('startRps', 'must be an integer >= 1');
  if (!Number.isInteger(maxRps) || maxRps < startRps) throw bad('maxRps', 'must be an integer >= startRps');
  if (!(growth > 1)) throw bad('growth', 'must be > 1');
  if (!(windowSeconds > 0)) throw bad('windowSeconds', 'must be > 0');
  if (!(warmupSeconds >= 0)) throw bad('warmupSeconds', 'must be >= 0');
  if (!(precision > 0 && precision < 1)) throw bad('precision', 'must be between 0 and 1');
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw bad('maxSteps', 'must be an integer >= 1');
  if (!Number.isInteger(attempts) || attempts < 1) throw bad('attempts', 'must be an integer >= 1');
  return { startRps, maxRps, growth, windowSeconds, warmupSeconds, precision, maxSteps, attempts };
}

interface SearchState {
  held: number | null;
  failed: number | null;
  phase: CapacityPhase;
  rate: number;
  attempt: number;
}

/** Applies one judged step to the search: the next rate to try, or why the search ends. */
function advance(
  st: SearchState,
  step: CapacityStep,
  o: ReturnType<typeof checkOptions>,
): CapacityResult['limitedBy'] | null {
  if (!step.held && st.attempt < o.attempts) {
    st.attempt++;
    return null;
  }
  st.attempt = 1;
  if (step.held) st.held = st.rate;
  else st.failed = st.rate;

  if (st.phase === 'ramp' && step.held) {
    if (st.rate >= o.maxRps) return 'max_rps';
    st.rate = Math.min(o.maxRps, Math.max(st.rate + 1, Math.round(st.rate * o.growth)));
    return null;
  }
  st.phase = 'bisect';
  const lo = st.held ?? 0;
  const hi = st.failed!;
  if (hi - lo <= Math.max(1, o.precision * lo)) return 'slo';
  st.rate = Math.floor((lo + hi) / 2);
  return null;
}

/** Runs the search; rejects only on bad options (an `invalidInput` ServiceError) or a target the engine refuses. */
export async function findCapacity(opts: CapacityOptions): Promise<CapacityResult> {
  const slo = validateSlo(opts.slo);
  const o = checkOptions(opts);
  const { windowSeconds, warmupSeconds, precision, maxSteps } = o;
  const steps: CapacityStep[] = [];
  const st: SearchState = { held: null, failed: null, phase: 'ramp', rate: o.startRps, attempt: 1 };
  const result = (limitedBy: CapacityResult['limitedBy']): CapacityResult => ({
    capacityRps: st.held,
    failedRps: st.failed,
    limitedBy,
    slo,
    windowSeconds,
    warmupSeconds,
    precision,
    steps,
  });

  for (const step of opts.resume ?? []) {
    steps.push(step);
    const end = advance(st, step, o);
    if (end) return result(end);
  }
  while (true) {
    if (opts.signal?.aborted) return result('interrupted');
    if (steps.length >= maxSteps) return result('max_steps');
    const { phase, rate: rateRps, attempt } = st;
    opts.onStepStart?.(steps.length, phase, rateRps);
    const step = await runStep(opts, slo, { index: steps.length, phase, rateRps, attempt }, o);
    if (step === null) return result('interrupted');
    steps.push(step);
    opts.onStep?.(step);
    const end = advance(st, step, o);
    if (end) return result(end);
  }
}
