/** A segment in its HTTP shape (`SegmentOut`): who runs it, where it is, what it measured. */
import type { Segment } from './model';

/** `profiles`: the experiment's profile count (a finished segment's position is one past the last). */
export function segmentJson(s: Segment, profiles: number) {
  const m = s.summary;
  const measured = m !== null && m.latency.count > 0;
  return {
    index: s.index,
    worker: s.worker,
    state: s.state,
    current_profile_index: Math.max(0, Math.min(s.currentProfileIndex, profiles - 1)),
    elapsed_in_profile_ms: s.progressMs,
    requests: m?.requests ?? 0,
    successes: m?.successes ?? 0,
    failures: m?.failures ?? 0,
    rps: m?.rps ?? 0,
    p50: measured ? m.latency.p50 : null,
    p99: measured ? m.latency.p99 : null,
    run_attempts: s.runAttempts,
  };
}

export type SegmentJson = ReturnType<typeof segmentJson>;
