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
  type CapacityRecord,
  type Experiment,
  type ExperimentState,
  type Group,
  isFinal,
  type LoadProfile,
  type SeriesPoint,
} from './model';
import type { SegmentJson } from './segments.view';

export interface ExperimentStats {
  experiment_id: string;
  name: string;
  state: ExperimentState;
  current_profile_index: number;
  /** The profile being run (the last one once finished). */
  profile: LoadProfile | null;
  /** Virtual users of the current profile while running, else 0. */
  users: number;
  elapsed_in_profile_ms: number;
  /** Requests per second over the last recorded second. */
  rate: number;
  total_requests: number;
  successes: number;
  failures: number;
  /** Percent 0-100; null before any request. */
  success_rate: number | null;
  /** ms, over every answered request; null before any answer. */
  average_latency: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  last_second: {
    timestamp: string;
    requests: number;
    success_rate: number | null;
    p50: number | null;
    p99: number | null;
  } | null;
  updated_at: string;
  /** experiment_stats only. */
  segments?: SegmentJson[];
  /** experiment_stats only: a capacity experiment's steps and answer so far (null for the others). */
  capacity?: CapacityRecord | null;
}

export interface GroupStats {
  group_id: string;
  name: string;
  state: ExperimentState;
  experiments_stats: Record<string, ExperimentStats>;
  total_requests: number;
  average_latency: number | null;
  success_rate: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  timestamp: string;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e5) / 1000 : null);

export function experimentStats(e: Experiment, last: SeriesPoint | null): ExperimentStats {
  const profiles = e.settings.load_profiles;
  const index = Math.max(0, Math.min(e.currentProfileIndex, profiles.length - 1));
  const profile = profiles[index] ?? null;
  const s = e.summary;
  const measured = s.latency.count > 0;
  return {
    experiment_id: e.id,
    name: e.name,
    state: e.state,
    current_profile_index: index,
    profile,
    users: e.state === 'running' && profile ? profile.users : 0,
    elapsed_in_profile_ms:
      e.currentProfileIndex >= profiles.length ? (profile?.duration_seconds ?? 0) * 1000 : e.progressMs,
    rate: last && last.durationMs > 0 ? Math.round((last.requests / last.durationMs) * 1e5) / 100 : 0,
    total_requests: s.requests,
    successes: s.successes,
    failures: s.failures,
    success_rate: s.success_rate,
    average_latency: measured ? s.latency.mean : null,
    p50: measured ? s.latency.p50 : null,
    p90: measured ? s.latency.p90 : null,
    p99: measured ? s.latency.p99 : null,
    p999: measured ? s.latency.p999 : null,
    last_second: last
      ? {
          timestamp: last.ts.toISOString(),
          requests: last.requests,
          success_rate: percent(last.successes, last.requests),
          p50: last.latency.count > 0 ? last.latency.p50 : null,
          p99: last.latency.count > 0 ? last.latency.p99 : null,
        }
      : null,
    updated_at: e.updatedAt.toISOString(),
  };
}

/** The state shown for a group: what was asked last, or `completed` once every member has finished. */
export function groupState(
  group: Pick<Group, 'state'>,
  members: Pick<Experiment, 'state'>[],
): ExperimentState {
  const settled = members.length > 0 && members.every((m) => isFinal(m.state));
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
    group_id: group.id,
    name: group.name,
    state: groupState(group, members),
    experiments_stats: perExperiment,
    total_requests: requests,
    average_latency: measured ? latency.mean : null,
    success_rate: percent(successes, requests),
    p50: measured ? latency.p50 : null,
    p90: measured ? latency.p90 : null,
    p99: measured ? latency.p99 : null,
    timestamp: now.toISOString(),
  };
}
