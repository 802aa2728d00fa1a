/**
 * Live statistics of experiments and groups, from what the runners stored (so every API process sees
 * the same numbers, at most one second old). A group's percentiles come from merging its members'
 * HDR histograms, which is exact: the merged percentiles are those of all the members' requests.
 */
import {
  createLatencyHistogram,
  decodeHistogram,
  mergeInto,
  summarizeHistogram,
} from '../../stats/histogram';
import {
  type Experiment,
  type ExperimentState,
  type Group,
  isFinal,
  type LoadProfile,
  type SeriesPoint,
} from './model';

export interface ExperimentStats {
  experimentId: string;
  name: string;
  state: ExperimentState;
  currentProfileIndex: number;
  /** The profile being run (the last one once finished). */
  profile: LoadProfile | null;
  /** Virtual users of the current profile while running, else 0. */
  users: number;
  elapsedInProfileMs: number;
  /** Requests per second over the last recorded second. */
  rate: number;
  totalRequests: number;
  successes: number;
  failures: number;
  /** Percent 0-100; null before any request. */
  successRate: number | null;
  /** ms, over every answered request; null before any answer. */
  averageLatency: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  lastSecond: {
    ts: Date;
    requests: number;
    successRate: number | null;
    p50: number | null;
    p99: number | null;
  } | null;
  updatedAt: Date;
}

export interface GroupStats {
  groupId: string;
  name: string;
  state: ExperimentState;
  experimentsStats: Record<string, ExperimentStats>;
  totalRequests: number;
  averageLatency: number | null;
  successRate: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** When these numbers were taken. */
  at: Date;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e5) / 1000 : null);

export function experimentStats(e: Experiment, last: SeriesPoint | null): ExperimentStats {
  const profiles = e.settings.load_profiles;
  const index = Math.max(0, Math.min(e.currentProfileIndex, profiles.length - 1));
  const profile = profiles[index] ?? null;
  const s = e.summary;
  const measured = s.latency.count > 0;
  return {
    experimentId: e.id,
    name: e.name,
    state: e.state,
    currentProfileIndex: index,
    profile,
    users: e.state === 'running' && profile ? profile.users : 0,
    elapsedInProfileMs:
      e.currentProfileIndex >= profiles.length ? (profile?.duration_seconds ?? 0) * 1000 : e.progressMs,
    // What it sends now: nothing unless running (a paused or finished run's last second is history).
    rate:
      e.state === 'running' && last && last.durationMs > 0
        ? Math.round((last.requests / last.durationMs) * 1e5) / 100
        : 0,
    totalRequests: s.requests,
    successes: s.successes,
    failures: s.failures,
    successRate: s.success_rate,
    averageLatency: measured ? s.latency.mean : null,
    p50: measured ? s.latency.p50 : null,
    p90: measured ? s.latency.p90 : null,
    p99: measured ? s.latency.p99 : null,
    p999: measured ? s.latency.p999 : null,
    lastSecond: last
      ? {
          ts: last.ts,
          requests: last.requests,
          successRate: percent(last.successes, last.requests),
          p50: last.latency.count > 0 ? last.latency.p50 : null,
          p99: last.latency.count > 0 ? last.latency.p99 : null,
        }
      : null,
    updatedAt: e.updatedAt,
  };
}

/**
 * The state shown for a group: what was asked last, or `completed` once every member has finished — also
 * when a running or paused group has no members left, so that no group shows running with nothing running.
 */
export function groupState(
  group: Pick<Group, 'state'>,
  members: Pick<Experiment, 'state'>[],
): ExperimentState {
  const settled = members.every((m) => isFinal(m.state));
  if (settled && (group.state === 'running' || group.state === 'paused')) return 'completed';
  return group.state;
}

export function groupStats(
  group: Group,
  members: Experiment[],
  last: Map<string, SeriesPoint>,
  now: Date,
): GroupStats {
  const merged = createLatencyHistogram();
  let requests = 0;
  let successes = 0;
  const perExperiment: Record<string, ExperimentStats> = {};
  for (const m of members) {
    requests += m.summary.requests;
    successes += m.summary.successes;
    if (m.histogram) mergeInto(merged, decodeHistogram(m.histogram));
    perExperiment[m.id] = experimentStats(m, last.get(m.id) ?? null);
  }
  const latency = summarizeHistogram(merged);
  const measured = latency.count > 0;
  return {
    groupId: group.id,
    name: group.name,
    state: groupState(group, members),
    experimentsStats: perExperiment,
    totalRequests: requests,
    averageLatency: measured ? latency.mean : null,
    successRate: percent(successes, requests),
    p50: measured ? latency.p50 : null,
    p90: measured ? latency.p90 : null,
    p99: measured ? latency.p99 : null,
    at: now,
  };
}
