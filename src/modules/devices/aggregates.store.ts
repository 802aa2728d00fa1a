/**
 * Aggregate SQL: one pass over the covering primary key computes count, min, max, sum and the exact median
 * of value (x + y + z) and of each axis.
 *
 * Median: percentile_disc picks the two middle values (the same one twice for an odd count) and we
 * average them as lo/2 + hi/2, the correctly rounded mean (halving is exact). percentile_cont(0.5)
 * computes lo + (hi - lo) * 0.5 instead, which rounds twice: on PostgreSQL 15 it differed in the last
 * bit for 29% of random pairs. The second fraction selects row ceil(n * 0.5000000000001) = n/2 + 1 for
 * even n and the middle row for odd n, exact for any period of fewer than 10^13 rows.
 *
 * Sums are float8, added in scan order; exact while the partial sums are exactly
 * representable (e.g. values with few decimals and moderate size), otherwise within float8 rounding
 * (relative error below n * 2^-53). Inputs are bounded (|axis| <= 1e100) so no sum can overflow.
 */
import type { Db, Queryable } from '../../platform/db';
import type { Aggregates, Page, PageRequest, Period, Stat } from './model';

const MIDDLE_FRACTIONS = 'ARRAY[0.5, 0.5000000000001]';
const QUANTITIES = [
  ['value', 'x + y + z'],
  ['x', 'x'],
  ['y', 'y'],
  ['z', 'z'],
] as const;
type Quantity = (typeof QUANTITIES)[number][0];

/** Aggregates of the rows a FROM/WHERE/GROUP BY selects (inner), then medians from middles (outer). */
const INNER = [
  'count(*) AS count',
  'min(ts) AS first_ts',
  'max(ts) AS last_ts',
  ...QUANTITIES.map(
    ([q, expr]) =>
      `min(${expr}) AS ${q}_min, max(${expr}) AS ${q}_max, sum(${expr}) AS ${q}_sum, ` +
      `percentile_disc(${MIDDLE_FRACTIONS}) WITHIN GROUP (ORDER BY ${expr}) AS ${q}_mid`,
  ),
].join(',\n  ');

/** The columns of devices.aggregates, in the order OUTER produces them. */
const COLUMNS = [
  'count',
  'first_ts',
  'last_ts',
  ...QUANTITIES.flatMap(([q]) => [`${q}_min`, `${q}_max`, `${q}_sum`, `${q}_median`]),
];
const OUTER = [
  'count',
  'first_ts',
  'last_ts',
  ...QUANTITIES.map(
    ([q]) => `${q}_min, ${q}_max, ${q}_sum, ${q}_mid[1] / 2 + ${q}_mid[2] / 2 AS ${q}_median`,
  ),
].join(', ');

const IN_PERIOD = `ts >= coalesce($2::timestamptz, '-infinity') AND ts <= coalesce($3::timestamptz, 'infinity')`;

type AggregateRow = Record<string, unknown> & { count: number; first_ts: Date; last_ts: Date };

function toStat(r: AggregateRow, q: Quantity): Stat {
  return {
    min: r[`${q}_min`] as number,
    max: r[`${q}_max`] as number,
    sum: r[`${q}_sum`] as number,
    median: r[`${q}_median`] as number,
  };
}

function toAggregates(r: AggregateRow): Aggregates {
  return {
    count: Number(r.count),
    value: toStat(r, 'value'),
    x: toStat(r, 'x'),
    y: toStat(r, 'y'),
    z: toStat(r, 'z'),
    first: r.first_ts,
    last: r.last_ts,
  };
}

const bounds = (p: Period) => [p.start?.toISOString() ?? null, p.end?.toISOString() ?? null];

export interface StoredAggregates extends Aggregates {
  deviceId: string;
  computedAt: Date;
  taskId: string;
}

export function createAggregatesStore(db: Pick<Db, 'query'>) {
  return {
    /** Aggregates of one device's readings in the period; null when it has none there. */
    async forDevice(deviceId: string, period: Period, tx: Queryable = db): Promise<Aggregates | null> {
      const rows = await tx.query<AggregateRow>(
        `SELECT ${OUTER} FROM (
           SELECT ${INNER} FROM devices.readings WHERE device_id = $1 AND ${IN_PERIOD}
         ) a`,
        [deviceId, ...bounds(period)],
      );
      const row = rows[0];
      return row && Number(row.count) > 0 ? toAggregates(row) : null;
    },

    /** The user's devices combined and each device, in one scan (grouping sets). */
    async forOwner(
      userId: number,
      period: Period,
      tx: Queryable = db,
    ): Promise<{ combined: Aggregates | null; devices: Map<string, Aggregates> }> {
      const rows = await tx.query<AggregateRow & { device_id: string | null }>(
        `SELECT device_id, ${OUTER} FROM (
           SELECT device_id, ${INNER} FROM devices.readings
           WHERE device_id IN (SELECT id FROM devices.devices WHERE owner_id = $1) AND ${IN_PERIOD}
           GROUP BY GROUPING SETS ((device_id), ())
         ) a
         ORDER BY device_id NULLS FIRST`,
        [userId, ...bounds(period)],
      );
      let combined: Aggregates | null = null;
      const devices = new Map<string, Aggregates>();
      for (const row of rows) {
        if (Number(row.count) === 0) continue;
        if (row.device_id === null) combined = toAggregates(row);
        else devices.set(row.device_id, toAggregates(row));
      }
      return { combined, devices };
    },

    /** Every registered device id, in order (the recalculation's work list). */
    async deviceIds(tx: Queryable = db): Promise<string[]> {
      const rows = await tx.query<{ id: string }>('SELECT id FROM devices.devices ORDER BY id');
      return rows.map((r) => r.id);
    },

    /** Recomputes and stores all-time aggregates of these devices; returns how many had readings. */
    async storeAllTime(deviceIds: readonly string[], taskId: string, tx: Queryable = db): Promise<number> {
      if (deviceIds.length === 0) return 0;
      const rows = await tx.query(
        `INSERT INTO devices.aggregates (device_id, ${COLUMNS.join(', ')}, computed_at, task_id)
         SELECT device_id, ${OUTER}, now(), $2 FROM (
           SELECT device_id, ${INNER} FROM devices.readings WHERE device_id = ANY($1::text[]) GROUP BY device_id
         ) a
         ON CONFLICT (device_id) DO UPDATE SET
           ${[...COLUMNS, 'computed_at', 'task_id'].map((c) => `${c} = excluded.${c}`).join(', ')}
         RETURNING device_id`,
        [deviceIds, taskId],
      );
      return rows.length;
    },

    async listStored(page: PageRequest, tx: Queryable = db): Promise<Page<StoredAggregates>> {
      const rows = await tx.query<AggregateRow & { device_id: string; computed_at: Date; task_id: string }>(
        `SELECT device_id, ${COLUMNS.join(', ')}, computed_at, task_id FROM devices.aggregates
         WHERE $1::text IS NULL OR device_id > $1
         ORDER BY device_id
         LIMIT $2`,
        [page.after, page.limit + 1],
      );
      const items = rows.slice(0, page.limit).map((r) => ({
        ...toAggregates(r),
        deviceId: r.device_id,
        computedAt: r.computed_at,
        taskId: r.task_id,
      }));
      return { items, nextAfter: rows.length > page.limit ? items[items.length - 1]!.deviceId : null };
    },
  };
}

export type AggregatesStore = ReturnType<typeof createAggregatesStore>;
