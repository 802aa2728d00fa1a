/**
 * A capacity search's steps and answer as stored with the experiment and shown by the API (snake_case,
 * the objects `telelab load --find-capacity --json` prints), and back to the search's own steps, so a
 * search resumed in another process continues from what was stored.
 */
import type { CapacityResult, CapacityStep } from './capacity';
import type { CapacityRecord, CapacityStepJson } from './model';

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

/**
 * The record of a search that ended (a user's stop ends it `interrupted`, with what it found); the
 * steps keep the times they were stored with (`stored`).
 */
export function finalRecord(r: CapacityResult, stored: CapacityRecord['steps']): CapacityRecord {
  return {
    capacity_rps: r.capacityRps,
    failed_rps: r.failedRps,
    limited_by: r.limitedBy,
    current: null,
    steps: r.steps.map((s, i) => ({ ...stepJson(s), at: stored[i]?.at ?? new Date().toISOString() })),
  };
}

export const emptyRecord = (): CapacityRecord => ({
  capacity_rps: null,
  failed_rps: null,
  limited_by: null,
  current: null,
  steps: [],
});
