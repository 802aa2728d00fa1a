/**
 * Capacity search: the highest arrival rate at which a target keeps its SLO for a sustained window.
 * It drives the load engine (engine.ts, arrival-rate model) one step at a time; latency is counted from
 * each request's scheduled send time, so it is corrected for coordinated omission.
 *
 * Step rule: every step is one engine run at one fixed rate (integer req/s): `warmupSeconds` (default 2)
 * that are not judged — connections open, code warms up, and a target past its capacity builds a queue —
 * then `windowSeconds` (default 10) at the same rate, the window. The SLO is judged on every request
 * scheduled in the window, including the ones answered after it ends (the step waits for them), with
 * the thresholds' evaluator (thresholds.ts). A step holds when every SLO check passes and no request was
 * dropped (a request the engine could not send within its timeout was never measured).
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
import { badRequest } from '../../platform/errors';
import { createLatencyHistogram, type LatencySummary, summarizeHistogram } from '../../stats/histogram';
import { ThresholdsIn } from './api.schemas';
import { runStep } from './capacity-step';
import {
  evaluateThresholds,
  type LoadOptions,
  type LoadTarget,
  type ThresholdCheck,
  type Thresholds,
} from './engine';

/**
 * The SLO metrics: exactly the thresholds' metrics — the fields of the thresholds schema that the
 * evaluator (thresholds.ts) checks (so options such as an abort flag are not metrics).
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
    throw badRequest('LATENCY_SLO_INVALID', `${field}: expected an object such as {"p99_ms": 100}`);
  const entries = Object.entries(slo);
  if (entries.length === 0)
    throw badRequest('LATENCY_SLO_INVALID', `${field}: give at least one metric, e.g. p99_ms=100`);
  const out: Record<string, number> = {};
  for (const [name, limit] of entries) {
    if (!(SLO_METRICS as string[]).includes(name))
      throw badRequest(
        'LATENCY_SLO_INVALID',
        `${field}.${name}: unknown SLO metric; use one of ${SLO_METRICS.join(', ')}`,
      );
    const max = PERCENT_METRICS.has(name) ? 100 : Number.POSITIVE_INFINITY;
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0 || limit > max)
      throw badRequest(
        'LATENCY_SLO_INVALID',
        `${field}.${name}: must be a number >= 0${max === 100 ? ' and <= 100 (percent)' : ' (ms)'}`,
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
      throw badRequest('LATENCY_SLO_INVALID', `slo: expected NAME=VALUE (e.g. p99_ms=100), got '${text}'`);
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
  const bad = (field: string, what: string) => badRequest('LATENCY_CAPACITY_INVALID', `${field}: ${what}`);
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

/** Runs the search; rejects only on bad options (ServiceError 400) or a target the engine refuses. */
export async function findCapacity(opts: CapacityOptions): Promise<CapacityResult> {
  const slo = validateSlo(opts.slo);
  const o = checkOptions(opts);
  const { startRps, maxRps, growth, windowSeconds, warmupSeconds, precision, maxSteps } = o;
  const steps: CapacityStep[] = [];
  let held: number | null = null;
  let failed: number | null = null;
  let phase: CapacityPhase = 'ramp';
  let rate = startRps;
  const result = (limitedBy: CapacityResult['limitedBy']): CapacityResult => ({
    capacityRps: held,
    failedRps: failed,
    limitedBy,
    slo,
    windowSeconds,
    warmupSeconds,
    precision,
    steps,
  });

  let attempt = 1;
  while (true) {
    if (opts.signal?.aborted) return result('interrupted');
    if (steps.length >= maxSteps) return result('max_steps');
    opts.onStepStart?.(steps.length, phase, rate);
    const step = await runStep(opts, slo, { index: steps.length, phase, rateRps: rate, attempt }, o);
    if (step === null) return result('interrupted');
    steps.push(step);
    opts.onStep?.(step);
    if (!step.held && attempt < o.attempts) {
      attempt++;
      continue;
    }
    attempt = 1;
    if (step.held) held = rate;
    else failed = rate;

    if (phase === 'ramp' && step.held) {
      if (rate >= maxRps) return result('max_rps');
      rate = Math.min(maxRps, Math.max(rate + 1, Math.round(rate * growth)));
      continue;
    }
    phase = 'bisect';
    const lo = held ?? 0;
    const hi = failed!;
    if (hi - lo <= Math.max(1, precision * lo)) return result('slo');
    rate = Math.floor((lo + hi) / 2);
  }
}
