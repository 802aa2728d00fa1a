/** Domain objects to their HTTP shapes (response-schemas.ts). Timestamps go out as ISO 8601 UTC. */

import type { GroupView } from '../groups.service';
import type { Experiment, SeriesPoint } from '../model';

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
