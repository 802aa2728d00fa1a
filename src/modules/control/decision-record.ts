/**
 * From one detector result to the stored decision, and back to what the next decision needs: the live
 * loop and replay both go through these, so a replay of the live detector reproduces the live decisions.
 */
import type { DetectorDecision, DetectorMemory } from './detectors';
import type { ControlStatus, DeliveryState, StoredDecision, WindowStats } from './model';

/** The status before the first decision. */
export const INITIAL_STATUS: ControlStatus = 'down';

/** What a decision leaves for the next one (the status, the dwell count, a CUSUM's sums and baseline). */
export function memoryAfter(last: StoredDecision | null): DetectorMemory {
  return {
    status: last?.status ?? INITIAL_STATUS,
    sinceChange: last?.sinceChange ?? undefined,
    cusum: last?.detector === 'cusum' ? last.cusum : null,
  };
}

export interface DecisionContext {
  decidedAt: Date;
  madeAt: Date;
  prev: WindowStats;
  curr: WindowStats;
  /** What the previous decision left (its status is this decision's previous status). */
  memory: DetectorMemory;
  missed: number;
  leaderId: string;
  delivery: Extract<DeliveryState, 'pending' | 'not_sent'>;
}

/** The decision to store for a detector's result, its delivery still to come (or never, for replay). */
export function decisionRecord(result: DetectorDecision, c: DecisionContext): StoredDecision {
  return {
    decidedAt: c.decidedAt,
    madeAt: c.madeAt,
    prev: c.prev,
    curr: c.curr,
    t: result.t,
    df: result.df,
    p: result.p,
    previousStatus: c.memory.status,
    status: result.status,
    changed: result.changed,
    reason: result.reason,
    detail: result.detail,
    sinceChange: result.changed ? 0 : c.memory.sinceChange === undefined ? null : c.memory.sinceChange + 1,
    missed: c.missed,
    delivered: null,
    delivery: c.delivery,
    deliveryError: null,
    leaderId: c.leaderId,
    detector: result.detector,
    cusum: result.cusum,
  };
}
