/** Domain types of the devices module (camelCase, `Date`), shared by its stores, services and routes. */
import { notFound, ServiceError } from '../../platform/errors';

/** min/max/sum/median of one quantity over the readings of a period (count is the period's). */
export interface Stat {
  min: number;
  max: number;
  sum: number;
  median: number;
}

/** Aggregates of `value` (x + y + z, what the API calls a reading's value) and of each axis. */
export interface Aggregates {
  count: number;
  value: Stat;
  x: Stat;
  y: Stat;
  z: Stat;
  /** Timestamps of the first and the last reading aggregated. */
  first: Date;
  last: Date;
}

/** A device's all-time aggregates as the last recalculation stored them. */
export interface StoredAggregates extends Aggregates {
  deviceId: string;
  computedAt: Date;
  taskId: string;
  /** Readings stored since it was computed (0: up to date). */
  pendingReadings: number;
}

/** Inclusive bounds; null = open on that side. */
export interface Period {
  start: Date | null;
  end: Date | null;
}

export interface NewReading {
  deviceId: string;
  ts: Date;
  x: number;
  y: number;
  z: number;
}

export interface StoredReading extends NewReading {
  id: number;
  createdAt: Date;
}

export interface DeviceSummary {
  deviceId: string;
  ownerId: number | null;
  registeredAt: Date;
  count: number;
  lastSeen: Date | null;
}

export interface User {
  id: number;
  name: string;
  createdAt: Date;
  deviceIds: string[];
}

export interface BucketStat {
  min: number;
  max: number;
  mean: number;
  median: number;
}

/** One bucket of a series: its bounds and its readings' statistics per quantity. */
export interface SeriesBucket {
  start: Date;
  end: Date;
  count: number;
  /** null when the bucket is empty. */
  stats: Record<'value' | 'x' | 'y' | 'z', BucketStat> | null;
}

export interface Series {
  /** The period cut into buckets: the requested bounds, an open side the first/last reading's time. */
  period: { start: Date; end: Date } | null;
  buckets: SeriesBucket[];
}

export type TaskStatus = 'queued' | 'running' | 'completed' | 'failed';

/** A recalculation as its requester sees it. */
export interface TaskView {
  taskId: string;
  status: TaskStatus;
  /** Rebuilds every device (true) or recomputes the changed ones. */
  full: boolean;
  progress: { done: number; total: number };
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` to get the next page; null on the last page. */
  nextAfter: string | null;
}

export interface PageRequest {
  after: string | null;
  limit: number;
}

/** A period's bounds as reported: the requested bound, or where open, the first/last reading's time. */
export function effectivePeriod(period: Period, aggregates: Aggregates): { start: Date; end: Date } {
  return { start: period.start ?? aggregates.first, end: period.end ?? aggregates.last };
}

/**
 * A period that ends before it starts is invalid input. The pair is at fault, not one field, so the
 * error names no field: its message reads the same on every route.
 */
export function checkPeriod(period: Period): void {
  if (period.start && period.end && period.start.getTime() > period.end.getTime()) {
    throw new ServiceError(
      'DEVICES_INVALID_PERIOD',
      'invalid_input',
      `start_date: ${period.start.toISOString()} is after end_date ${period.end.toISOString()}`,
    );
  }
}

export const noData = (what: string) =>
  notFound('DEVICES_NO_DATA', `No data found for ${what} in the requested period`);
