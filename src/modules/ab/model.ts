/** Domain types of the ab module, shared by its stores, services and routes. */

/** An option's value as configured: colours are strings, prices numbers. */
export type OptionValue = string | number;

export interface Experiment {
  id: number;
  name: string;
  /** Option values in position order; never change after creation. */
  values: OptionValue[];
  /** Weights of the current deck version, one per option position. */
  weights: number[];
  version: number;
  deckSize: number;
  seed: number;
  startedAt: Date;
  stoppedAt: Date | null;
}

/** One experiment a device takes part in, with its (sticky) value. */
export interface DeviceValue {
  name: string;
  value: OptionValue;
}

export interface DeviceRecord {
  firstSeenAt: Date;
  values: DeviceValue[];
}

/** Why a device has, or does not have, one experiment. */
export type ExplainReason =
  | 'assigned'
  | 'started_after_first_seen'
  | 'stopped_before_first_seen'
  | 'not_recorded'
  | 'would_enter'
  | 'stopped';

export interface ExplainItem {
  name: string;
  participating: boolean;
  value: OptionValue | null;
  reason: ExplainReason;
  detail: string;
  /** Where the device entered: deck version, its position k in it, k's slot, and the option there. */
  assignment: { version: number; k: number; slot: number; option: number } | null;
}

/** A device's experiments and why; `known` is false for a device never seen (explain never records it). */
export interface Explanation {
  known: boolean;
  firstSeenAt: Date | null;
  experiments: ExplainItem[];
}

/**
 * The new-devices-only rule: a device takes part in an experiment iff the experiment had started when
 * the device was first seen (started_at <= first_seen_at) and was not stopped by then
 * (stopped_at is null or first_seen_at < stopped_at).
 */
export function takesNewDevice(e: Pick<Experiment, 'startedAt' | 'stoppedAt'>, firstSeenAt: Date): boolean {
  const t = firstSeenAt.getTime();
  return e.startedAt.getTime() <= t && (e.stoppedAt === null || t < e.stoppedAt.getTime());
}
