/** Domain types of the devices module, shared by its stores, services and routes. */
import { ServiceError } from '../../platform/errors';

/** min/max/sum/median of one quantity over the readings of a period (count is the period's). */
export interface Stat {
  min: number;
  max: number;
  sum: number;
  median: number;
}

/** Aggregates of `value` (x + y + z, the original's reading) and of each axis over some readings. */
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

export function checkPeriod(period: Period): void {
  if (period.start && period.end && period.start.getTime() > period.end.getTime()) {
    throw new ServiceError(
      'DEVICES_INVALID_PERIOD',
      400,
      `start_date: ${period.start.toISOString()} is after end_date ${period.end.toISOString()}`,
    );
  }
}

export const noData = (what: string) =>
  new ServiceError('DEVICES_NO_DATA', 404, `No data found for ${what} in the requested period`);
