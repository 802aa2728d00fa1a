/** Domain objects to their HTTP shapes (response-schemas.ts). Timestamps go out as ISO 8601 UTC. */

import type { GroupView } from '../groups.service';
import type { ExperimentStats, GroupStats } from '../live-stats';
import type { Experiment, Segment, SeriesPoint } from '../model';

export function experimentJson(e: Experiment) {
  // A capacity experiment has no profiles: it stays at position 0.
  const last = Math.max(0, e.settings.load_profiles.length - 1);
  return {
    id: e.id,
    name: e.name,
    settings: { ...e.settings, segments: e.settings.segments ?? 1 },
    state: e.state,
    current_profile_index: Math.min(e.currentProfileIndex, last),
    elapsed_in_profile_ms:
      e.currentProfileIndex > last
        ? (e.settings.load_profiles[last]?.duration_seconds ?? 0) * 1000
        : e.progressMs,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    started_at: e.startedAt?.toISOString() ?? null,
    finished_at: e.finishedAt?.toISOString() ?? null,
    summary: e.summary,
    passed: e.summary.thresholds?.passed ?? null,
    verdict: e.verdict,
  };
}

export function seriesJson(p: SeriesPoint) {
  return {
    second: p.second,
    timestamp: p.ts.toISOString(),
    duration_ms: p.durationMs,
    profile_index: p.profileIndex,
    elapsed_in_profile_ms: p.elapsedInProfileMs,
    requests: p.requests,
    successes: p.successes,
    failures: p.failures,
    late: p.late,
    dropped: p.dropped,
    rps: p.durationMs > 0 ? Math.round((p.requests / p.durationMs) * 1e5) / 100 : 0,
    success_rate: p.requests > 0 ? Math.round((p.successes / p.requests) * 1e5) / 1000 : null,
    status_codes: p.statusCodes,
    failures_by_kind: p.failuresByKind,
    latency: p.latency,
    raw_latency: p.rawLatency,
  };
}

export function groupJson(v: GroupView) {
  return {
    id: v.group.id,
    name: v.group.name,
    state: v.state,
    experiments: Object.fromEntries(v.members.map((m) => [m.id, experimentJson(m)])),
    experiment_ids: v.group.experimentIds,
    created_at: v.group.createdAt.toISOString(),
    updated_at: v.group.updatedAt.toISOString(),
  };
}

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

export function experimentStatsJson(s: ExperimentStats) {
  const last = s.lastSecond;
  return {
    experiment_id: s.experimentId,
    name: s.name,
    state: s.state,
    current_profile_index: s.currentProfileIndex,
    profile: s.profile,
    users: s.users,
    elapsed_in_profile_ms: s.elapsedInProfileMs,
    rate: s.rate,
    total_requests: s.totalRequests,
    successes: s.successes,
    failures: s.failures,
    success_rate: s.successRate,
    average_latency: s.averageLatency,
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    p999: s.p999,
    last_second: last
      ? {
          timestamp: last.ts.toISOString(),
          requests: last.requests,
          success_rate: last.successRate,
          p50: last.p50,
          p99: last.p99,
        }
      : null,
    updated_at: s.updatedAt.toISOString(),
  };
}

export function groupStatsJson(s: GroupStats & { rate: number }) {
  return {
    group_id: s.groupId,
    name: s.name,
    state: s.state,
    experiments_stats: Object.fromEntries(
      Object.entries(s.experimentsStats).map(([id, e]) => [id, experimentStatsJson(e)]),
    ),
    rate: s.rate,
    total_requests: s.totalRequests,
    average_latency: s.averageLatency,
    success_rate: s.successRate,
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    timestamp: s.at.toISOString(),
  };
}
