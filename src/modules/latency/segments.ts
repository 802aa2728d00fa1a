/**
 * Segments: one experiment's load split across processes. Pure arithmetic, no I/O.
 * A profile's users (closed model) are divided as evenly as integers allow, the first segments taking
 * the remainder (10 users in 3 segments: 4/3/3); an arrival rate is divided exactly (each segment sends
 * `users / (interval_seconds × segments)` per second). Durations are the same in every segment, so with
 * a shared start their profiles change together.
 */
import type { LoadProfile } from './model';

export const MAX_SEGMENTS = 64;

/** `total` split into `n` integers that differ by at most one, larger ones first; they sum to `total`. */
export function splitEvenly(total: number, n: number): number[] {
  const base = Math.floor(total / n);
  const extra = total - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The profiles segment `index` of `count` runs. */
export function segmentProfiles(
  profiles: LoadProfile[],
  model: 'closed' | 'arrival-rate',
  count: number,
  index: number,
): LoadProfile[] {
  if (count <= 1) return profiles;
  return profiles.map((p) =>
    model === 'arrival-rate'
      ? { ...p, interval_seconds: p.interval_seconds * count }
      : { ...p, users: splitEvenly(p.users, count)[index]! },
  );
}
