// Command history as merged status periods, clipped to the asked range.
//
// Input is a time-ordered list of status points: "from `at` on, the status is `status`". A store feeds it
// cheaply with two indexed queries instead of every decision in the range:
//   1. the last decision at or before `after` (the status in force at `after`), and
//   2. the decisions in (after, before) where the status changed.
// Feeding every decision works too (same-status neighbours are merged), it is just more rows.
import type { ControlStatus, StatusPeriod, StatusPoint } from './model';

export interface HistoryRange {
  /** Range start; omitted = from the first point. */
  after?: Date;
  /** Range end; omitted = now. A `before` in the future is capped at now: history does not predict. */
  before?: Date;
  /** Injected clock: where the current (still open) period ends. */
  now: Date;
}

/**
 * Merges consecutive same-status points into periods; each period lasts until the next different status
 * (the last one until the range end). Periods overlapping [after, end] are clipped to it, not dropped;
 * empty periods are left out. Throws RangeError when `after` > `before` (callers check the range first).
 */
export function buildHistory(points: readonly StatusPoint[], range: HistoryRange): StatusPeriod[] {
  const { after, before, now } = range;
  if (after && before && after.getTime() > before.getTime()) {
    throw new RangeError(`after (${after.toISOString()}) is later than before (${before.toISOString()})`);
  }
  const endMs = Math.min(before ? before.getTime() : now.getTime(), now.getTime());
  const startMs = after ? after.getTime() : Number.NEGATIVE_INFINITY;
  const sorted = isSorted(points) ? points : [...points].sort((a, b) => a.at.getTime() - b.at.getTime());

  // Merge first, clip second: a run that starts before `after` must keep its true start until clipped.
  const runs: { from: number; status: ControlStatus }[] = [];
  for (const p of sorted) {
    const at = p.at.getTime();
    if (at >= endMs) break;
    if (runs.length > 0 && runs[runs.length - 1]!.status === p.status) continue;
    runs.push({ from: at, status: p.status });
  }

  const periods: StatusPeriod[] = [];
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    const from = Math.max(run.from, startMs);
    const to = Math.min(runs[i + 1]?.from ?? endMs, endMs);
    if (to <= from) continue;
    periods.push({ from: new Date(from), to: new Date(to), status: run.status });
  }
  return periods;
}

function isSorted(points: readonly StatusPoint[]): boolean {
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.at.getTime() < points[i - 1]!.at.getTime()) return false;
  }
  return true;
}
