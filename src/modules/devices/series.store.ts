/**
 * A device's readings over a period cut into N equal buckets, sorted in one statement: per bucket
 * count, and min, max, mean and exact median of value (x + y + z) and of each axis. Empty buckets are
 * returned as empty (count 0), not left out. (A period too large to sort is answered bucket by bucket
 * from the rollups and the median index instead: series.service.ts.)
 *
 * Bucket i of a period [start, end] (inclusive, millisecond precision, span = end - start + 1 ms)
 * holds the readings with floor((ts - start) * N / span) = i, computed in integers so no reading falls
 * between buckets; its bounds are start + ceil(i * span / N) to start + ceil((i + 1) * span / N) - 1 ms.
 */
import type { Db, Queryable } from '../../platform/db';
import { sqlTime } from '../../platform/time';
import { midpoint } from './aggregates.rows';
import type { BucketStat, SeriesBucket } from './model';
import { QUANTITIES, type Quantity } from './rollups.store';

const MS = `(extract(epoch FROM ts) * 1000)::int8`;
const PER_BUCKET = QUANTITIES.map(
  ([q, e]) =>
    `min(${e}) AS ${q}_min, max(${e}) AS ${q}_max, avg(${e}) AS ${q}_mean, ` +
    `percentile_disc(ARRAY[0.5, 0.5000000000001]) WITHIN GROUP (ORDER BY ${e}) AS ${q}_mid`,
).join(', ');

/** ceil(i * span / n) in integers, exact where i * span passes 2^53 (up to ~3e17). */
function ceilDiv(i: number, span: number, n: number): number {
  return Number((BigInt(i) * BigInt(span) + BigInt(n) - 1n) / BigInt(n));
}

type BucketRow = Record<string, unknown> & { b: number | string; count: number | string };

/** The inclusive bounds of the N buckets of [start, end] (see the file comment). */
export function bucketBounds(start: Date, end: Date, n: number): { start: Date; end: Date }[] {
  const s = start.getTime();
  const span = end.getTime() - s + 1;
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(s + ceilDiv(i, span, n)),
    end: new Date(s + ceilDiv(i + 1, span, n) - 1),
  }));
}

/** What deciding how to cut a device's period needs. */
export interface Outline {
  /** The device's first and last reading. */
  first: Date;
  last: Date;
  /** Readings in the hours the period touches (its edge hours whole): an upper bound of its count. */
  count: number;
  /** Whether the device has a median index. */
  indexed: boolean;
}

export function createSeriesStore(db: Pick<Db, 'query'>) {
  return {
    /**
     * From the device's hourly rollups (O(hours with readings)): its first and last reading, and how
     * many readings the hours of [start, end] hold (null: open); null when it has no readings.
     */
    async outline(deviceId: string, start: Date | null, end: Date | null, tx: Queryable = db) {
      const rows = await tx.query<{ first: Date | null; last: Date | null; count: string; indexed: boolean }>(
        `SELECT min(first_ts) AS first, max(last_ts) AS last,
           coalesce(sum(count) FILTER (WHERE last_ts >= coalesce($2::timestamptz, '-infinity')
             AND first_ts <= coalesce($3::timestamptz, 'infinity')), 0) AS count,
           EXISTS (SELECT 1 FROM devices.median_layouts WHERE device_id = $1) AS indexed
         FROM devices.rollups WHERE device_id = $1`,
        [deviceId, sqlTime(start), sqlTime(end)],
      );
      const r = rows[0];
      if (!r?.first || !r.last) return null;
      return { first: r.first, last: r.last, count: Number(r.count), indexed: r.indexed } satisfies Outline;
    },

    async buckets(
      deviceId: string,
      start: Date,
      end: Date,
      n: number,
      tx: Queryable = db,
    ): Promise<SeriesBucket[]> {
      const s = start.getTime();
      const span = end.getTime() - s + 1;
      const rows = await tx.query<BucketRow>(
        `SELECT ((${MS} - $2::int8) * $3::int8 / $4::int8) AS b, count(*) AS count, ${PER_BUCKET}
         FROM devices.readings
         WHERE device_id = $1 AND ts >= $5::timestamptz AND ts <= $6::timestamptz
         GROUP BY 1`,
        [deviceId, s, n, span, sqlTime(start), sqlTime(end)],
      );
      const byIndex = new Map(rows.map((r) => [Number(r.b), r]));
      return bucketBounds(start, end, n).map((bounds, i) => {
        const r = byIndex.get(i);
        const stat = (q: Quantity): BucketStat => {
          const mid = r![`${q}_mid`] as number[];
          return {
            min: r![`${q}_min`] as number,
            max: r![`${q}_max`] as number,
            mean: Number(r![`${q}_mean`]),
            median: midpoint(mid[0]!, mid[1]!),
          };
        };
        return {
          ...bounds,
          count: r ? Number(r.count) : 0,
          stats: r ? { value: stat('value'), x: stat('x'), y: stat('y'), z: stat('z') } : null,
        };
      });
    },
  };
}

export type SeriesStore = ReturnType<typeof createSeriesStore>;
