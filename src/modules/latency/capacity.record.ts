/**
 * A capacity search's steps and answer as stored with the experiment and shown by the API (snake_case,
 * the objects `telelab load --find-capacity --json` prints), and back to the domain (model.ts
 * CapacityRecord, the search's own steps), so a search resumed in another process continues from what
 * was stored.
 */
import type { LatencySummary } from '../../stats/histogram';
import type { CapacityResult, CapacityStep } from './capacity';
import type { ThresholdCheck } from './engine';
import type { CapacityRecord } from './model';

/** One step as stored and shown (the objects of `telelab load --find-capacity --json`'s `steps`). */
interface CapacityStepJson {
  index: number;
  phase: 'ramp' | 'bisect';
  rate_rps: number;
  attempt: number;
  held: boolean;
  stopped_early: boolean;
  requests: number;
  dropped: number;
  late: number;
  success_rate: number;
  error_rate: number;
  latency: LatencySummary;
  checks: ThresholdCheck[];
}

/** A CapacityRecord as stored (`latency.experiments.capacity`) and shown; `at` in ISO 8601 UTC. */
export interface CapacityRecordJson {
  capacity_rps: number | null;
  failed_rps: number | null;
  limited_by: CapacityRecord['limitedBy'];
  current: { index: number; phase: 'ramp' | 'bisect'; rate_rps: number } | null;
  steps: (CapacityStepJson & { at?: string })[];
}

export function stepJson(s: CapacityStep): CapacityStepJson {
  return {
    index: s.index,
    phase: s.phase,
    rate_rps: s.rateRps,
    attempt: s.attempt,
    held: s.held,
    stopped_early: s.stoppedEarly,
    requests: s.requests,
    dropped: s.dropped,
    late: s.late,
    success_rate: s.successRate,
    error_rate: s.errorRate,
    latency: s.latency,
    checks: s.checks,
  };
}

export function stepFromJson(s: CapacityStepJson): CapacityStep {
  return {
    index: s.index,
    phase: s.phase,
    rateRps: s.rate_rps,
    attempt: s.attempt,
    held: s.held,
    stoppedEarly: s.stopped_early,
    requests: s.requests,
    dropped: s.dropped,
    late: s.late,
    successRate: s.success_rate,
    errorRate: s.error_rate,
    latency: s.latency,
    checks: s.checks,
  };
}

export function recordJson(r: CapacityRecord): CapacityRecordJson {
  return {
    capacity_rps: r.capacityRps,
    failed_rps: r.failedRps,
    limited_by: r.limitedBy,
    current: r.current && { index: r.current.index, phase: r.current.phase, rate_rps: r.current.rateRps },
    steps: r.steps.map((s) => (s.at ? { ...stepJson(s), at: s.at.toISOString() } : stepJson(s))),
  };
}

export function recordFromJson(r: CapacityRecordJson): CapacityRecord {
  return {
    capacityRps: r.capacity_rps,
    failedRps: r.failed_rps,
    limitedBy: r.limited_by,
    current: r.current && { index: r.current.index, phase: r.current.phase, rateRps: r.current.rate_rps },
    steps: r.steps.map((s) => (s.at ? { ...stepFromJson(s), at: new Date(s.at) } : stepFromJson(s))),
  };
}

/**
 * The record of a search that ended (a user's stop ends it `interrupted`, with what it found); the
 * steps keep the times they were stored with (`stored`).
 */
export function finalRecord(r: CapacityResult, stored: CapacityRecord['steps']): CapacityRecord {
  return {
    capacityRps: r.capacityRps,
    failedRps: r.failedRps,
    limitedBy: r.limitedBy,
    current: null,
    steps: r.steps.map((s, i) => ({ ...s, at: stored[i]?.at ?? new Date() })),
  };
}

export const emptyRecord = (): CapacityRecord => ({
  capacityRps: null,
  failedRps: null,
  limitedBy: null,
  current: null,
  steps: [],
});
