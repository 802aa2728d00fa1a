/** Mapping between the devices routes' wire shapes (schemas.ts: snake_case, ISO 8601) and the domain (model.ts). */
import type { Static } from 'typebox';
import { badRequest } from '../../../platform/errors';
import { parseIsoDateTime } from '../../../platform/time';
import {
  type Aggregates,
  type DeviceSummary,
  effectivePeriod,
  type Period,
  type Series,
  type Stat,
  type StoredAggregates,
  type StoredReading,
  type TaskView,
  type User,
} from '../model';
import type {
  DeviceAggregates,
  DeviceListResponse,
  ReadingResponse,
  SeriesResponse,
  StoredAggregatesResponse,
  TaskResponse,
  UserResponse,
} from './schemas';

/**
 * An input timestamp (its shape already checked by the schema) as a Date. Out of range or not a
 * calendar date: a 400 naming the field by its full request path (`body.3.ts`, `querystring.end_date`).
 */
export function timestampField(field: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const parsed = parseIsoDateTime(text);
  if (!parsed.ok) throw badRequest('VALIDATION_FAILED', `${field}: ${parsed.reason}`);
  return parsed.value;
}

/** The period of a query's start_date / end_date (either optional). */
export function periodOf(query: { start_date?: string; end_date?: string }): Period {
  return {
    start: timestampField('querystring.start_date', query.start_date) ?? null,
    end: timestampField('querystring.end_date', query.end_date) ?? null,
  };
}

export function readingJson(r: StoredReading): Static<typeof ReadingResponse> {
  return {
    id: r.id,
    device_id: r.deviceId,
    x: r.x,
    y: r.y,
    z: r.z,
    ts: r.ts.toISOString(),
    created_at: r.createdAt.toISOString(),
  };
}

type DeviceListItem = Static<typeof DeviceListResponse>['items'][number];

export function deviceSummaryJson(d: DeviceSummary): DeviceListItem {
  return {
    device_id: d.deviceId,
    owner_id: d.ownerId,
    registered_at: d.registeredAt.toISOString(),
    last_seen: d.lastSeen?.toISOString() ?? null,
    count: d.count,
  };
}

const statJson = (s: Stat, count: number) => ({
  min: s.min,
  max: s.max,
  sum: s.sum,
  median: s.median,
  count,
});

/** Aggregates as min_value / max_value / count / summation / median, plus axes and period. */
export function aggregatesJson(a: Aggregates, period: Period) {
  const { start, end } = effectivePeriod(period, a);
  return {
    min_value: a.value.min,
    max_value: a.value.max,
    count: a.count,
    summation: a.value.sum,
    median: a.value.median,
    axes: { x: statJson(a.x, a.count), y: statJson(a.y, a.count), z: statJson(a.z, a.count) },
    period: { start: start.toISOString(), end: end.toISOString() },
  };
}

export function deviceAggregatesJson(
  deviceId: string,
  a: Aggregates,
  period: Period,
): Static<typeof DeviceAggregates> {
  return { device_id: deviceId, ...aggregatesJson(a, period) };
}

type StoredItem = Static<typeof StoredAggregatesResponse>['items'][number];

export function storedAggregatesJson(a: StoredAggregates): StoredItem {
  return {
    device_id: a.deviceId,
    ...aggregatesJson(a, { start: null, end: null }),
    computed_at: a.computedAt.toISOString(),
    task_id: a.taskId,
    pending_readings: a.pendingReadings,
  };
}

export function seriesJson(deviceId: string, s: Series): Static<typeof SeriesResponse> {
  return {
    device_id: deviceId,
    period: s.period && { start: s.period.start.toISOString(), end: s.period.end.toISOString() },
    buckets: s.buckets.map((b) => ({
      start: b.start.toISOString(),
      end: b.end.toISOString(),
      count: b.count,
      value: b.stats?.value ?? null,
      x: b.stats?.x ?? null,
      y: b.stats?.y ?? null,
      z: b.stats?.z ?? null,
    })),
  };
}

export function userJson(u: User): Static<typeof UserResponse> {
  return {
    id: u.id,
    name: u.name,
    created_at: u.createdAt.toISOString(),
    device_ids: u.deviceIds,
  };
}

export function taskJson(t: TaskView): Static<typeof TaskResponse> {
  return {
    task_id: t.taskId,
    status: t.status,
    full: t.full,
    progress: t.progress,
    started_at: t.startedAt?.toISOString() ?? null,
    finished_at: t.finishedAt?.toISOString() ?? null,
    error: t.error,
  };
}
