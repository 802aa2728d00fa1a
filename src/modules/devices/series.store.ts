/**
 * A device's readings over a period cut into N equal buckets, in one statement: per bucket count, and
 * min, max, mean and exact median of value (x + y + z) and of each axis. Empty buckets are returned as
 * empty (count 0), not left out.
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

export function createSeriesStore(db: Pick<Db, 'query'>) {
  return {
    /** First and last reading time of a device (from its hourly rollups); null when it has none. */
    async extent(deviceId: string, tx: Queryable = db): Promise<{ first: Date; last: Date } | null> {
      const rows = await tx.query<{ first: Date | null; last: Date | null }>(
        'SELECT min(first_ts) AS first, max(last_ts) AS last FROM devices.rollups WHERE device_id = $1',
        [deviceId],
      );
      const r = rows[0];
      return r?.first && r.last ? { first: r.first, last: r.last } : null;
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
      return Array.from({ length: n }, (_, i) => {
        const r = byIndex.get(i);
        const from = s + ceilDiv(i, span, n);
        const to = s + ceilDiv(i + 1, span, n) - 1;
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
          start: new Date(from),
          end: new Date(to),
          count: r ? Number(r.count) : 0,
          stats: r ? { value: stat('value'), x: stat('x'), y: stat('y'), z: stat('z') } : null,
        };
      });
    },
  };
}

export type SeriesStore = ReturnType<typeof createSeriesStore>;
