// What a simulated sensor sends: the mean over time (a schedule of steps, optionally repeating) and seeded
// normal payloads around it.
import normal from '@stdlib/random-base-normal';

/** Mean of the payload distribution over time: step i applies from `atSec` on. */
export interface MeanSchedule {
  steps: { atSec: number; mean: number }[];
  /** Repeat the steps every `periodSec` seconds. */
  periodSec?: number;
}

/**
 * Parses `0:100,30:130,60:100` (seconds from start -> mean) with an optional `@PERIOD` suffix that repeats
 * it, e.g. `0:100,30:130@60` alternates every 30 s. Throws RangeError on anything else.
 */
export function parseSchedule(spec: string): MeanSchedule {
  const [list, period, extra] = spec.trim().split('@');
  if (extra !== undefined || !list) throw new RangeError(`invalid schedule ${JSON.stringify(spec)}`);
  const steps = list.split(',').map((item) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*:\s*(-?\d+(?:\.\d+)?)\s*$/.exec(item);
    if (!m) throw new RangeError(`invalid schedule step ${JSON.stringify(item)}; expected SECONDS:MEAN`);
    return { atSec: Number(m[1]), mean: Number(m[2]) };
  });
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]!.atSec <= steps[i - 1]!.atSec)
      throw new RangeError('schedule steps must have increasing times');
  }
  if (period === undefined) return { steps };
  const periodSec = Number(period);
  if (!(periodSec > steps.at(-1)!.atSec)) {
    throw new RangeError(
      `schedule period must be a number above the last step time, got ${JSON.stringify(period)}`,
    );
  }
  return { steps, periodSec };
}

/** The mean in force `elapsedSec` after the start; `baseMean` before the first step or without a schedule. */
export function meanAt(schedule: MeanSchedule | undefined, baseMean: number, elapsedSec: number): number {
  if (!schedule) return baseMean;
  const t = schedule.periodSec ? elapsedSec % schedule.periodSec : elapsedSec;
  let mean = baseMean;
  for (const step of schedule.steps) {
    if (step.atSec > t) break;
    mean = step.mean;
  }
  return mean;
}

/** The payload generator's largest seed. */
export const MAX_SEED = 0xffffffff;

/**
 * Integer payloads from a seeded normal distribution for one instance (seed + index, kept inside the
 * generator's valid range 1..2^32-1). Same seed, same sequence.
 */
export function payloadSource(seed: number, instance: number, std: number): (mean: number) => number {
  const rand = normal.factory({ seed: ((seed - 1 + instance) % MAX_SEED) + 1 });
  // The generator returns NaN for sigma = 0; a constant stream is still a valid (degenerate) sensor.
  return std > 0 ? (mean) => Math.round(rand(mean, std)) : (mean) => Math.round(mean);
}
