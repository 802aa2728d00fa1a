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

/**
 * The new-devices-only rule: a device takes part in an experiment iff the experiment had started when
 * the device was first seen (started_at <= first_seen_at) and was not stopped by then
 * (stopped_at is null or first_seen_at < stopped_at).
 */
export function takesNewDevice(e: Pick<Experiment, 'startedAt' | 'stoppedAt'>, firstSeenAt: Date): boolean {
  const t = firstSeenAt.getTime();
  return e.startedAt.getTime() <= t && (e.stoppedAt === null || t < e.stoppedAt.getTime());
}
