/**
 * The series of an experiment of several segments: each segment records its own point per second; the
 * experiment's series is their exact merge. Points of one second (counted from the segments' shared
 * start) and one profile become one point: counters add, HDR histograms merge.
 */
import {
  createLatencyHistogram,
  decodeHistogram,
  mergeInto,
  summarizeHistogram,
} from '../../stats/histogram';
import { addCounters } from './engine';
import type { SeriesPoint } from './model';

/** A stored point with its segment and encoded histograms (needed to merge latencies exactly). */
export interface SegmentPoint extends SeriesPoint {
  segment: number;
  histogram: string | null;
  rawHistogram: string | null;
}

/** One point from several (of one second and profile). */
export function mergePoints(points: SegmentPoint[]): SeriesPoint {
  if (points.length === 1) return points[0]!;
  const first = points[0]!;
  const merged: SeriesPoint = {
    second: first.second,
    ts: first.ts,
    durationMs: 0,
    profileIndex: first.profileIndex,
    elapsedInProfileMs: 0,
    requests: 0,
    successes: 0,
    failures: 0,
    late: 0,
    dropped: 0,
    statusCodes: {},
    failuresByKind: {},
    latency: first.latency,
    rawLatency: null,
  };
  const h = createLatencyHistogram();
  const raw = first.rawHistogram ? createLatencyHistogram() : null;
  for (const p of points) {
    if (p.ts < merged.ts) merged.ts = p.ts;
    merged.durationMs = Math.max(merged.durationMs, p.durationMs);
    merged.elapsedInProfileMs = Math.max(merged.elapsedInProfileMs, p.elapsedInProfileMs);
    addCounters(merged, p);
    if (p.histogram) mergeInto(h, decodeHistogram(p.histogram));
    if (raw && p.rawHistogram) mergeInto(raw, decodeHistogram(p.rawHistogram));
  }
  merged.latency = summarizeHistogram(h);
  merged.rawLatency = raw ? summarizeHistogram(raw) : null;
  return merged;
}

/**
 * The experiment's series from its segments' points: grouped by the second since `startAt` (each
 * segment's engine ticks once a second from the shared start) and the profile, oldest first, numbered
 * from 0.
 */
export function mergeSeries(points: SegmentPoint[], startAt: Date | null): SeriesPoint[] {
  if (points.length === 0) return [];
  const origin = (startAt ?? points[0]!.ts).getTime();
  const groups = new Map<string, { slot: number; profile: number; points: SegmentPoint[] }>();
  for (const p of points) {
    const slot = Math.round((p.ts.getTime() - origin) / 1000);
    const key = `${slot}:${p.profileIndex}`;
    const g = groups.get(key);
    if (g) g.points.push(p);
    else groups.set(key, { slot, profile: p.profileIndex, points: [p] });
  }
  return [...groups.values()]
    .sort((a, b) => a.slot - b.slot || a.profile - b.profile)
    .map((g, i) => ({ ...mergePoints(g.points), second: i }));
}
